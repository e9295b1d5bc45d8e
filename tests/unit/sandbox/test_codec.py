"""Plain data through the codec: both paths, and the limits, named where they bite."""

import pytest

from sandbox import codec
from sandbox.budget import MAX_DEPTH, MAX_STRING_BYTES, MAX_VALUES


@pytest.mark.parametrize("values", [
    [],
    [None, True, False, 0, -1, 2**63 - 1, 1.5, "", "ünïcode"],
    [{"symbol": "EURUSD", "price": 1.08, "buy": True, "sl": None}],
    [{"nested": {"list": [1, 2, {"x": "y"}]}, 7: "int key"}],
    [[1, [2, [3]]], {}],
])
def test_round_trip(values):
    shape, out = codec.encode(values)
    expected = [({k: x for k, x in v.items() if x is not None} if isinstance(v, dict) else v) for v in values]
    expected = [{} if v == [] else v for v in expected]
    assert codec.decode(shape, out) == expected


def test_fast_and_general_paths_agree():
    alert = {"symbol": "EURUSD", "action": "buy", "price": 1.085, "flag": False}
    assert codec._encode_flat([alert, 3]) == codec._encode_general([alert, 3])


@pytest.mark.parametrize("value, message", [
    ({"f": print}, "[1]['f']: a builtin_function_or_method cannot cross"),
    ([1, None], "[1][2]: None cannot be an item of a Lua array"),
    ({(1, 2): 3}, "key (1, 2) is not a string or an integer"),
    (2**64, "does not fit in 64 bits"),
    (b"raw", "bytes cannot cross"),
    ("x" * (MAX_STRING_BYTES + 1), f"more than {MAX_STRING_BYTES} bytes"),
    (list(range(MAX_VALUES + 1)), f"more than {MAX_VALUES} values"),
])
def test_refusals_name_the_place(value, message):
    with pytest.raises(codec.BoundaryError) as e:
        codec.encode([value])
    assert message in str(e.value)


def test_depth_is_capped():
    deep: list = []
    for _ in range(MAX_DEPTH + 1):
        deep = [deep] if deep else [1]
    with pytest.raises(codec.BoundaryError, match="nested deeper"):
        codec.encode([deep])
