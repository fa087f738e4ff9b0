"""What the ``green_light_engine`` and ``green_light_session`` fixtures hand out.

The engine fixture is a plain fixture: creating an engine does no IO. The session
fixture is async, so that whoever drives the test (pytest-asyncio, or the plugin's
runner) opens its connection on the loop the test runs on. Both are declared in
``plugin.py``; this module is imported when a test first uses one.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Generator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

    from pytest_green_light.database.worker_database import WorkerDatabase


def worker_engine(
    worker_database: WorkerDatabase, *, pooled: bool
) -> Generator[AsyncEngine, None, None]:
    """The worker's engine for the session, disposed at its end.

    Unpooled when tests have loops of their own: a pooled asyncpg or psycopg connection
    only works on the loop it was made on.
    """
    # Imported here: the xdist controller loads this module too, and needs no asyncio.
    from pytest_green_light.standby import wake_waiting

    wake_waiting()
    from pytest_green_light.worker_loop.lifecycle import get_or_create_event_loop

    engine = worker_database.create_engine(pool=pooled)
    if worker_database.in_memory:  # the database exists only inside this engine
        get_or_create_event_loop().run_until_complete(
            worker_database.run_setup_hook(engine)
        )
    try:
        yield engine
    finally:
        get_or_create_event_loop().run_until_complete(engine.dispose())


async def _open_session(
    engine: AsyncEngine, cleanup: contextlib.AsyncExitStack
) -> AsyncSession:
    from sqlalchemy.ext.asyncio import AsyncSession

    connection = await cleanup.enter_async_context(engine.connect())
    transaction = await connection.begin()
    cleanup.push_async_callback(transaction.rollback)
    if connection.dialect.name == "sqlite":
        # SQLite's drivers begin a transaction only before a write; a SAVEPOINT outside
        # a transaction would start one, and releasing it (session.commit()) commit it.
        await connection.exec_driver_sql("BEGIN")
    # expire_on_commit=False, as SQLAlchemy's asyncio documentation sets up sessions:
    # application code that reads an object after commit() must not need IO for it.
    session = AsyncSession(
        bind=connection,
        join_transaction_mode="create_savepoint",
        expire_on_commit=False,
    )
    cleanup.push_async_callback(session.close)
    return session


@contextlib.asynccontextmanager
async def rolled_back_session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """An ``AsyncSession`` whose every change, ``commit()`` included, is rolled back
    when the block ends (``green_light_session``, declared in ``plugin.py``).

    It joins an outer transaction on its connection through savepoints, so its
    ``commit()`` and ``rollback()`` only end a savepoint.
    """
    async with contextlib.AsyncExitStack() as cleanup:
        yield await _open_session(engine, cleanup)
