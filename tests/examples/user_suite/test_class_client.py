import asyncio

import pytest
import pytest_asyncio


# A class-scoped client whose app runs a background task, as ASGI lifespans do.
@pytest_asyncio.fixture(scope="class", loop_scope="class")
async def app():
    inbox = asyncio.Queue()

    async def serve():
        handled = 0
        while True:
            reply = await inbox.get()
            handled += 1
            reply.set_result(handled)

    task = asyncio.create_task(serve(), name="app-lifespan")
    yield inbox
    task.cancel()


class TestAppClient:
    @pytest.mark.asyncio(loop_scope="class")
    @pytest.mark.parametrize("n", range(3))
    async def test_request(self, app, n):
        reply = asyncio.get_running_loop().create_future()
        await app.put(reply)
        assert await asyncio.wait_for(reply, 2) >= 1
