import asyncio

import pytest
import pytest_asyncio


@pytest.fixture
def on_the_loop(event_loop):
    return event_loop.run_until_complete(asyncio.sleep(0, result=True))


# A 0.2x-era async fixture: it schedules on the loop it asks for.
@pytest_asyncio.fixture
async def scheduled(event_loop):
    yield event_loop.create_task(asyncio.sleep(0, result=event_loop))


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


@pytest.mark.asyncio
async def test_async_fixture_requests_event_loop(scheduled):
    assert await scheduled is asyncio.get_running_loop()
