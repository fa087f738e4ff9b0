import asyncio

import pytest


@pytest.fixture
def on_the_loop(event_loop):
    return event_loop.run_until_complete(asyncio.sleep(0, result=True))


@pytest.mark.asyncio
async def test_requests_event_loop(event_loop):
    assert asyncio.get_running_loop() is event_loop


@pytest.mark.asyncio
async def test_fixture_requests_event_loop(on_the_loop):
    assert on_the_loop


def test_sync_uses_event_loop(event_loop):
    assert event_loop.run_until_complete(asyncio.sleep(0, result=3)) == 3


@pytest.mark.asyncio
async def test_plain():
    await asyncio.sleep(0)
