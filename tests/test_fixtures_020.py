"""The 0.2.0 helpers in pytest_green_light.fixtures keep their signatures and behaviour."""

from __future__ import annotations

import inspect

import pytest

from conftest import Inner
from pytest_green_light import fixtures

SIGNATURES_020 = {
    "async_engine_factory": "(url: 'str', **kwargs: 'Any') -> 'AsyncGenerator[AsyncEngine, None]'",
    "create_async_engine_fixture": "(url: 'str', **engine_kwargs: 'Any')",
    "async_session_factory": "(engine: 'AsyncEngine', *, expire_on_commit: 'bool' = False, **session_kwargs: 'Any') -> 'AsyncGenerator[AsyncSession, None]'",
    "create_async_session_fixture": "(engine_fixture_name: 'str' = 'async_engine', *, expire_on_commit: 'bool' = False, **session_kwargs: 'Any')",
    "async_db_transaction": "(session: 'AsyncSession', *, rollback: 'bool' = True, nested: 'bool' = False)",
    "async_transaction_fixture": "(session: 'AsyncSession', *, rollback: 'bool' = True, nested: 'bool' = False) -> 'AsyncGenerator[None, None]'",
}


def test_signatures_match_020() -> None:
    for name, expected in SIGNATURES_020.items():
        signature = str(inspect.signature(getattr(fixtures, name)))
        # 0.2.0 annotated some return types loosely (Callable); parameters must match.
        assert signature.startswith(expected.split(" -> ")[0]), (name, signature)


@pytest.mark.compat
def test_helpers_work_as_in_020(inner: Inner, driver: str) -> None:
    inner.driver = driver
    inner.pytester.makepyfile(
        test_helpers="""
        import pytest
        from sqlalchemy import Column, Integer, MetaData, Table, func, insert, select
        from pytest_green_light.fixtures import (
            async_db_transaction,
            async_engine_factory,
            async_session_factory,
            async_transaction_fixture,
            create_async_engine_fixture,
            create_async_session_fixture,
        )
        from facts import async_fixture

        metadata = MetaData()
        rows = Table("rows", metadata, Column("id", Integer, primary_key=True))


        @async_fixture
        async def engine(tmp_path):
            make = create_async_engine_fixture(f"sqlite+aiosqlite:///{tmp_path}/h.db")
            async for eng in make():
                async with eng.begin() as conn:
                    await conn.run_sync(metadata.create_all)
                yield eng


        @async_fixture
        async def session(engine):
            async for sess in create_async_session_fixture("engine")(engine):
                yield sess


        async def count(session):
            return await session.scalar(select(func.count()).select_from(rows))


        @pytest.mark.asyncio
        async def test_transaction_rolls_back(session):
            async with async_db_transaction(session):
                await session.execute(insert(rows).values(id=1))
                assert await count(session) == 1
            assert await count(session) == 0


        @pytest.mark.asyncio
        async def test_nested_transaction_and_fixture_form(session):
            async for _ in async_transaction_fixture(session, nested=True):
                await session.execute(insert(rows).values(id=2))
                assert await count(session) == 1
            assert await count(session) == 0


        @pytest.mark.asyncio
        async def test_factories(tmp_path):
            async for eng in async_engine_factory(f"sqlite+aiosqlite:///{tmp_path}/f.db"):
                async for sess in async_session_factory(eng, expire_on_commit=True):
                    assert sess.sync_session.expire_on_commit is True
        """
    )

    inner.run().assert_outcomes(passed=3)
