import asyncio

import pytest
import pytest_asyncio


@pytest_asyncio.fixture
async def numbers():
    queue = asyncio.Queue()

    async def produce():
        for n in range(3):
            await queue.put(n)
            await asyncio.sleep(0)

    task = asyncio.create_task(produce())
    yield queue
    await task


@pytest.mark.asyncio
async def test_reads_what_the_fixture_task_produces(numbers):
    got = [await asyncio.wait_for(numbers.get(), 2) for _ in range(3)]
    assert got == [0, 1, 2]
