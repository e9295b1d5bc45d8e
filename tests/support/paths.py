"""Where things are, for tests that run a command in the repository or read its files."""

from pathlib import Path

SUPPORT = Path(__file__).resolve().parent   # tests/support
TESTS = SUPPORT.parent                      # tests
ROOT = TESTS.parent                         # the repository
