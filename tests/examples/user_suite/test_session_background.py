import asyncio

import pytest
import pytest_asyncio


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def ticker():
    ticks = []

    async def tick():
        while True:
            ticks.append(1)
            await asyncio.sleep(0.001)

    task = asyncio.create_task(tick(), name="ticker")
    yield ticks
    task.cancel()


class TestTicker:
    @pytest.mark.asyncio(loop_scope="session")
    @pytest.mark.parametrize("n", range(3))
    async def test_ticks(self, ticker, n):
        before = len(ticker)
        await asyncio.sleep(0.02)
        assert len(ticker) > before
