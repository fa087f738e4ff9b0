import asyncio

import pytest


@pytest.mark.asyncio
async def test_async_before():
    await asyncio.sleep(0)


def test_plain_sync():
    assert sum([1, 2]) == 3


@pytest.mark.asyncio
async def test_async_after():
    await asyncio.sleep(0)
