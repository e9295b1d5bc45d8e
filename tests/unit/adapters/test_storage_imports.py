"""The storage's sqlite-utils is imported without numpy and pandas (engine/adapters/storage/database.py):
installed beside moonhook, they would cost the engine 15 to 60 MB for values it never stores."""

from __future__ import annotations

import subprocess
import sys

_CHECK = """
import sys
import engine.adapters.storage
print(sorted(n for n in ("numpy", "pandas") if n in sys.modules))
import numpy, pandas  # still there for whoever else wants them
print(numpy.MARK, pandas.MARK)
"""


def test_numpy_and_pandas_installed_are_not_loaded_by_the_storage(tmp_path):
    for name in ("numpy", "pandas"):  # stand-ins on the path: importing them is what is looked for
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text(f"MARK = {name!r}\n")
    run = subprocess.run([sys.executable, "-c", _CHECK], capture_output=True, text=True, timeout=60,
                         env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert run.returncode == 0, run.stderr
    assert run.stdout.split("\n")[:2] == ["[]", "numpy pandas"]


def test_one_loaded_already_is_left_as_it_is(tmp_path):
    (tmp_path / "numpy").mkdir()
    (tmp_path / "numpy" / "__init__.py").write_text("MARK = 'numpy'\n")
    check = "import numpy, sys; import engine.adapters.storage; print(sys.modules['numpy'] is numpy)"
    run = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=60,
                         env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert (run.returncode, run.stdout.strip()) == (0, "True"), run.stderr
