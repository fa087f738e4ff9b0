"""Async SQLAlchemy on aiosqlite: a session-scoped engine shared by every test."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest

from conftest import Inner

ENGINE_CONFTEST = """
import pytest
from sqlalchemy import Integer, String
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from facts import async_fixture


class Base(DeclarativeBase):
    pass


class Note(Base):
    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(String(50))


# No loop-scope settings anywhere: the defaults must make this work.
@async_fixture(scope="session")
async def engine(tmp_path_factory):
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db')}/notes.db")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield engine
    await engine.dispose()


@async_fixture
async def session(engine):
    async with engine.connect() as conn:
        transaction = await conn.begin()
        async with AsyncSession(bind=conn) as session:
            yield session
        await transaction.rollback()
"""

ENGINE_TESTS = """
import asyncio
import pytest
from sqlalchemy import func, select
from conftest import Note
from facts import record


@pytest.mark.parametrize("n", range(10))
@pytest.mark.asyncio
async def test_insert_and_count(session, engine, n):
    session.add(Note(text=f"note {n}"))
    await session.flush()
    count = await session.scalar(select(func.count()).select_from(Note))
    record("engine", engine=id(engine), count=count)
    assert count == 1  # every other test's rows were rolled back


def test_sync_between(engine):
    record("sync", engine=id(engine))
"""


@pytest.mark.compat
def test_session_engine_serves_every_test_on_its_worker(
    inner: Inner, driver: str, distribution: str
) -> None:
    inner.driver, inner.distribution = driver, distribution
    inner.pytester.makeconftest(ENGINE_CONFTEST)
    inner.pytester.makepyfile(
        test_a=ENGINE_TESTS, test_b=ENGINE_TESTS, test_c=ENGINE_TESTS
    )

    result = inner.run()

    result.assert_outcomes(passed=33)
    facts = inner.facts()
    engines: dict[str, set[int]] = defaultdict(set)
    loops: dict[str, set[str]] = defaultdict(set)
    for fact in facts:
        engines[fact["worker"]].add(fact["engine"])
        loops[fact["worker"]].add(fact["loop"])
    assert all(len(ids) == 1 for ids in engines.values()), engines
    assert all(len(ids) == 1 for ids in loops.values()), loops
    tests_per_worker = Counter(f["worker"] for f in facts if f["test"] == "engine")
    assert all(count >= 5 for count in tests_per_worker.values()), tests_per_worker
    if distribution != "n0":
        assert set(tests_per_worker) == {"gw0", "gw1"}
