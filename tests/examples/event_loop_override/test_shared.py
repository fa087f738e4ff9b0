import asyncio

import pytest
import pytest_asyncio

seen = []


@pytest_asyncio.fixture(scope="session")
async def resource():
    return asyncio.get_running_loop()


@pytest.mark.asyncio
@pytest.mark.parametrize("n", range(3))
async def test_same_loop(resource, n):
    seen.append(asyncio.get_running_loop())
    assert asyncio.get_running_loop() is resource
    assert len(set(seen)) == 1


def test_sync(event_loop):
    assert not event_loop.is_closed()


def test_sync_code_gets_the_same_loop(event_loop):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        assert asyncio.get_event_loop() is event_loop
