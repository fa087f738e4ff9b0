"""The 0.2.0 helper API, kept with the same signatures and behaviour.

These are building blocks for your own fixtures; with 1.0 they need no greenlet set-up
of their own, because the worker loop and greenlet context are already in place.
New code can use the ``green_light_engine`` / ``green_light_session`` fixtures instead.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

__all__ = [
    "async_db_transaction",
    "async_engine_factory",
    "async_session_factory",
    "async_transaction_fixture",
    "create_async_engine_fixture",
    "create_async_session_fixture",
]


async def async_engine_factory(
    url: str, **kwargs: Any
) -> AsyncGenerator[AsyncEngine, None]:
    """Yield an ``AsyncEngine`` for ``url`` and dispose of it afterwards.

    Usage::

        @pytest.fixture
        async def engine():
            async for eng in async_engine_factory("sqlite+aiosqlite:///:memory:"):
                yield eng
    """
    engine = create_async_engine(url, **kwargs)
    try:
        yield engine
    finally:
        await engine.dispose()


def create_async_engine_fixture(
    url: str, **engine_kwargs: Any
) -> Callable[[], AsyncGenerator[AsyncEngine, None]]:
    """Return an async generator function usable as an engine fixture for ``url``."""

    async def _fixture() -> AsyncGenerator[AsyncEngine, None]:
        async for engine in async_engine_factory(url, **engine_kwargs):
            yield engine

    return _fixture


async def async_session_factory(
    engine: AsyncEngine, *, expire_on_commit: bool = False, **session_kwargs: Any
) -> AsyncGenerator[AsyncSession, None]:
    """Yield an ``AsyncSession`` on ``engine``, closed afterwards."""
    maker = async_sessionmaker(
        engine, class_=AsyncSession, expire_on_commit=expire_on_commit, **session_kwargs
    )
    async with maker() as session:
        yield session


def create_async_session_fixture(
    engine_fixture_name: str = "async_engine",
    *,
    expire_on_commit: bool = False,
    **session_kwargs: Any,
) -> Callable[[AsyncEngine], AsyncGenerator[AsyncSession, None]]:
    """Return an async generator function that makes a session from an engine."""

    async def _fixture(engine: AsyncEngine) -> AsyncGenerator[AsyncSession, None]:
        async for session in async_session_factory(
            engine, expire_on_commit=expire_on_commit, **session_kwargs
        ):
            yield session

    _fixture.__name__ = f"async_session_from_{engine_fixture_name}"
    return _fixture


@asynccontextmanager
async def async_db_transaction(
    session: AsyncSession, *, rollback: bool = True, nested: bool = False
) -> AsyncIterator[None]:
    """Run the block in a transaction (a savepoint with ``nested``), rolled back after.

    On an exception the transaction is always rolled back; otherwise only when
    ``rollback`` is true.
    """
    async with AsyncExitStack() as stack:
        if nested:
            await stack.enter_async_context(session.begin_nested())
        try:
            yield
        except Exception:
            await session.rollback()
            raise
        finally:
            if rollback:
                await session.rollback()


async def async_transaction_fixture(
    session: AsyncSession, *, rollback: bool = True, nested: bool = False
) -> AsyncGenerator[None, None]:
    """Async generator form of :func:`async_db_transaction`, for use in fixtures."""
    async with async_db_transaction(session, rollback=rollback, nested=nested):
        yield
