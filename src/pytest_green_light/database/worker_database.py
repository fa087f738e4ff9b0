"""One worker's database, from session start to finish.

A worker's database is *created* by the plugin when the worker's URL differs from the
configured one (under xdist) or names a database that does not exist yet; only then is
it set up (a copy of the run's template, or through the
``pytest_green_light_setup_database`` hook) and dropped at the end. A database that
already exists under the configured name (no xdist) is used as it is.
"""

from __future__ import annotations

import asyncio
import inspect
import time
import traceback
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest
from pluggy import HookCaller
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from pytest_green_light.database.servers import open_server
from pytest_green_light.database.url import (
    is_memory,
    masked,
    require_name_fits,
    worker_database_url,
)
from pytest_green_light.worker_loop.loop import shut_down_loop

T = TypeVar("T")


def run_privately(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on a loop of its own, leaving the thread's current loop alone."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        shut_down_loop(loop)


async def run_setup_hook(
    setup_hook: HookCaller, engine: AsyncEngine, worker_id: str
) -> None:
    """Await every ``pytest_green_light_setup_database`` implementation in turn."""
    try:
        for result in setup_hook(engine=engine, worker_id=worker_id):
            if inspect.isawaitable(result):
                await result
    except Exception as error:
        details = "".join(
            traceback.format_exception(type(error), error, error.__traceback__)
        )
        raise pytest.UsageError(
            f"pytest_green_light_setup_database failed for {masked(engine.url)} "
            f"(worker {worker_id}):\n{details}"
        ) from None


class WorkerDatabase:
    """One worker's database, from its creation at session start to its drop.

    With a ``template`` (a database of the run's, set up once), the worker's database
    is a copy of it and the set-up hook is not called again.
    """

    def __init__(
        self,
        base_url: URL,
        worker_id: str,
        *,
        keep: bool,
        setup_hook: HookCaller | None = None,
        template: str | None = None,
    ) -> None:
        self.base_url = base_url
        self.setup_hook = setup_hook
        self.worker_id = worker_id
        self.url = make_url(worker_database_url(base_url, worker_id))
        self.keep = keep
        self.template = template
        self.in_memory = is_memory(base_url)
        self.created = False
        self.seconds = 0.0  # to create (copy) it

    @property
    def name(self) -> str:
        return str(self.url.database)

    @property
    def own_copy(self) -> bool:
        """Whether this worker has a database of its own (under xdist)."""
        return self.url != self.base_url

    async def set_up(self) -> None:
        """Create the database if this worker needs one, then run the setup hook
        unless it is a copy of the run's template.

        Raises ``pytest.UsageError`` with a message for the user.
        """
        if self.in_memory:  # nothing to create: the engine's one connection holds it
            return
        started = time.monotonic()
        name = self.name
        require_name_fits(self.url)  # a worker replaced more often than foreseen
        base = str(self.base_url.database)
        async with open_server(self.url) as server:
            base_exists = await server.exists(base)
            if base_exists and not self.own_copy:
                return  # the URL's own database, used as it is
            await server.require_create(name)
            if self.own_copy:
                await server.drop(name)  # a crashed run's leftover
            # A copy of the run's template, else of the URL's database, else empty.
            source = self.template or (base if base_exists else None)
            await server.create(name, source)
            self.created = True
        self.seconds = time.monotonic() - started
        if self.template is not None:
            return
        engine = self.create_engine(pool=False)
        try:
            try:
                await self.run_setup_hook(engine)
            finally:
                await engine.dispose()
        except BaseException:
            await self.tear_down()  # this session will not finish: drop it now
            raise

    async def run_setup_hook(self, engine: AsyncEngine) -> None:
        assert self.setup_hook is not None, "a worker's own database has its hook"
        await run_setup_hook(self.setup_hook, engine, self.worker_id)

    async def tear_down(self) -> None:
        if self.created and not self.keep:
            await self.drop()

    async def drop(self) -> None:
        """Drop this worker's database (if it exists): it is the plugin's, by name."""
        if self.in_memory:
            return
        async with open_server(self.url) as server:
            await server.drop(self.name)

    def create_engine(self, *, pool: bool = True) -> AsyncEngine:
        """An engine on this worker's database; without a pool, every checkout connects
        on the loop running at the time (for tests with a loop of their own)."""
        if pool or self.in_memory:  # an in-memory database lives in its one connection
            return create_async_engine(self.url)
        return create_async_engine(self.url, poolclass=NullPool)
