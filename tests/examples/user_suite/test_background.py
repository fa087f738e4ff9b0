import asyncio

import pytest
import pytest_asyncio

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def heartbeat():
    beats = []

    async def beat():
        while True:
            beats.append(1)
            await asyncio.sleep(0.001)

    task = asyncio.create_task(beat(), name="heartbeat")
    yield beats
    task.cancel()


@pytest.mark.parametrize("n", range(4))
async def test_heart_still_beats(heartbeat, n):
    before = len(heartbeat)
    await asyncio.sleep(0.02)
    assert len(heartbeat) > before
