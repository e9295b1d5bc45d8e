import pytest

from support.e2e_support import User


@pytest.fixture
def user(tmp_path):
    """A user in an empty folder; every `moonhook run` they started is killed at the end."""
    u = User(tmp_path)
    try:
        yield u
    finally:
        u.close()
