"""No class of engine/ or sandbox/ built from mixins has two of its classes define one name, in silence.

Python's method resolution order picks the first definition and says nothing: the Lifecycle's mixins
SettingsSaves and NameClashes each had a private ``_refuse``, so NameClashes' calls reached SettingsSaves' and a
start where two files claim one plugin name ended in a TypeError (fixed in 18eddb8e). Held here, for every class
whose bases are not one line of subclasses (a class built from mixins, or a subclass of one):

- two unrelated classes of its MRO (neither a subclass of the other) define the same name;
- a class defines a private name (``_x``) that a class it derives from defines too: a helper shadowed as above,
  where overriding a public name is the ordinary interface at work;
- a class sets ``self.NAME`` where another class of the MRO defines a method or property NAME: the instance's
  attribute hides it.

Meant to be overridden, so not held: dunders, what ABCMeta writes on each class (``_abc_impl``), and a name the
shadowed class declares abstract (an interface's, made to be implemented, as DealReads implements Broker's reads).
Any other name shared on purpose goes in DELIBERATE, with its reason.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import itertools
import pkgutil
import textwrap
from abc import ABC, abstractmethod
from functools import cache

PACKAGES = ("engine", "sandbox")
MACHINERY = {"_abc_impl"}  # written by ABCMeta on every abstract base class and its subclasses

# (class, name) -> why the name is shared on purpose; an entry no longer needed fails test_deliberate_is_needed.
DELIBERATE: dict[tuple[str, str], str] = {
    ("MT5Broker", "position_deals"): "Broker's None is the default of a broker that cannot read a position's deals "
                                     "apart (the caller reads the whole history); MT5's DealReads can",
    ("MT5Broker", "trade_summary"): "Broker's None is the default of a broker that cannot sum its history up where "
                                    "it is kept (the caller sums history); MT5's DealReads does",
}


@cache
def _classes() -> tuple[type, ...]:
    """Every class defined in a module of PACKAGES (``__main__`` modules left out: they run on import)."""
    found: dict[str, type] = {}
    for name in PACKAGES:
        package = importlib.import_module(name)
        for info in pkgutil.walk_packages(package.__path__, name + "."):
            if info.name.rsplit(".", 1)[-1] == "__main__":
                continue
            module = importlib.import_module(info.name)
            for cls in vars(module).values():
                if inspect.isclass(cls) and cls.__module__ == module.__name__:
                    found[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return tuple(found[k] for k in sorted(found))


def _ours(cls: type, packages: tuple[str, ...]) -> list[type]:
    return [c for c in cls.__mro__ if c.__module__.split(".")[0] in packages]


def _unrelated(a: type, b: type) -> bool:
    return not issubclass(a, b) and not issubclass(b, a)


def from_mixins(cls: type, packages: tuple[str, ...] = PACKAGES) -> bool:
    """Whether the classes of ``cls``'s MRO from ``packages`` are more than one line of subclasses."""
    return any(_unrelated(a, b) for a, b in itertools.combinations(_ours(cls, packages), 2))


def _meant(name: str) -> bool:
    return (name.startswith("__") and name.endswith("__")) or name in MACHINERY


def _abstract(cls: type, name: str) -> bool:
    return getattr(vars(cls)[name], "__isabstractmethod__", False)


def _set_on_self(cls: type) -> set[str]:
    """The names ``cls``'s own code assigns on ``self`` (``self.x = ...``, ``self.a, self.b = ...``, ``+=``)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError):   # no source (made at run time)
        return set()
    names = set()
    for node in ast.walk(tree):
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, (ast.AnnAssign, ast.AugAssign)) else []
        for target in targets:
            for t in ast.walk(target):
                if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self":
                    names.add(t.attr)
    return names


def _behaviour(value: object) -> bool:
    return inspect.isfunction(value) or isinstance(value, (property, staticmethod, classmethod))


def clashes(cls: type, packages: tuple[str, ...] = PACKAGES) -> list[tuple[str, str]]:
    """``(name, what clashes)`` for each name two classes of ``cls``'s MRO (those from ``packages``) define
    in silence, as the module's docstring says."""
    mro, found = _ours(cls, packages), []
    for first, later in itertools.combinations(mro, 2):   # ``first`` wins the lookup
        for name in sorted(set(vars(first)) & set(vars(later))):
            if _meant(name) or _abstract(later, name):
                continue
            if _unrelated(first, later):
                found.append((name, f"defined by {first.__qualname__} and by {later.__qualname__}, which it hides"))
            elif name.startswith("_"):
                found.append((name, f"private helper of {later.__qualname__} redefined by {first.__qualname__}"))
    for setter, owner in itertools.permutations(mro, 2):
        for name in sorted(_set_on_self(setter) & set(vars(owner))):
            if not _meant(name) and _behaviour(vars(owner)[name]):
                found.append((name, f"set on self by {setter.__qualname__}, hiding {owner.__qualname__}'s"))
    return found


def test_classes_built_from_mixins_define_no_name_twice():
    built = [cls for cls in _classes() if from_mixins(cls)]
    assert any(cls.__qualname__ == "Lifecycle" for cls in built)   # what this test is for is still found
    found = [f"{cls.__module__}.{cls.__qualname__}.{name}: {what}" for cls in built
             for name, what in clashes(cls) if (cls.__qualname__, name) not in DELIBERATE]
    assert not found, "names defined twice in silence (rename one, or list it in DELIBERATE):\n" + "\n".join(found)


def test_deliberate_is_needed():
    used = {(cls.__qualname__, name) for cls in _classes() if from_mixins(cls) for name, _ in clashes(cls)}
    assert set(DELIBERATE) <= used, f"no longer shared, drop from DELIBERATE: {sorted(set(DELIBERATE) - used)}"


# -- the check itself, on classes made here (this module is their package) ----------------------------------

class _Saves:
    def _refuse(self, told: str) -> None: ...   # the fault of 3bc12033: two helpers, one name

    def _saved(self) -> None:
        self._refuse("told")


class _Clashes:
    def _refuse(self, file: str, message: str) -> None: ...

    def busy(self) -> bool:
        return True


class _Host(_Saves, _Clashes):
    def __init__(self) -> None:
        self.busy = False   # hides _Clashes.busy

    def _saved(self) -> None: ...   # hides _Saves' helper


class _Reads:
    def history(self) -> list:
        return []


class _Interface(ABC):
    @abstractmethod
    def history(self) -> list: ...

    def stop(self) -> None: ...


class _Implemented(_Reads, _Interface):
    def stop(self) -> None: ...   # a public override of the interface's default: ordinary


def test_the_check_finds_the_lifecycles_fault_and_passes_an_interface_implemented():
    here = (__name__.split(".")[0],)
    assert from_mixins(_Host, here) and from_mixins(_Implemented, here)
    assert sorted(clashes(_Host, here)) == [
        ("_refuse", "defined by _Saves and by _Clashes, which it hides"),
        ("_saved", "private helper of _Saves redefined by _Host"),
        ("busy", "set on self by _Host, hiding _Clashes's"),
    ]
    assert clashes(_Implemented, here) == []
