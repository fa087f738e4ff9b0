import anyio
import pytest


@pytest.mark.anyio
async def test_anyio_sleep():
    await anyio.sleep(0)


def test_sync_after_anyio():
    pass
