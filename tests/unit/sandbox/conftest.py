import pytest

from sandbox import open_pool


@pytest.fixture
async def pool():
    async with open_pool(workers=2, spares=1) as p:
        yield p
