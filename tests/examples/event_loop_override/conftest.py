import asyncio

import pytest


# The 0.2x-era recipe for one loop for the whole run.
@pytest.fixture(scope="session")
def event_loop():
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()
