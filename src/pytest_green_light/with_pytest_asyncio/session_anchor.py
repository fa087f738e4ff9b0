"""Registered as a plugin when pytest-asyncio drives tests on a session loop.

Its session fixture, which the bridge puts first in each worker's first test that anyio
does not own, makes pytest-asyncio build its session loop (on the worker loop) there. Built first, that runner is torn down last, so every session fixture's teardown
still finds the worker loop open; and a function-loop test that runs first cannot make
pytest-asyncio 0.26 close a current loop it did not create.
"""

from __future__ import annotations

import pytest_asyncio

from pytest_green_light.with_pytest_asyncio.loop_policy import ANCHOR


@pytest_asyncio.fixture(name=ANCHOR, scope="session", loop_scope="session")
async def session_loop_anchor() -> None:
    return None
