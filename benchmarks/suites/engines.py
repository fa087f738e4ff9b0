"""Suites of async SQLAlchemy tests: per-test engines, a session engine with rolled-back
transactions, the soak mix, and a database whose set-up takes a second."""

from __future__ import annotations

from pathlib import Path

from .files import INI, split, write

MODELS = """\
from sqlalchemy import Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "items"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
"""

# Each test makes (and disposes) its own engine: what suites without a shared loop do.
PER_TEST_ENGINE = """\
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from models import Base, Item


@pytest.mark.parametrize("n", range({count}))
async def test_item(tmp_path, n):
    engine = create_async_engine(f"sqlite+aiosqlite:///{{tmp_path}}/db.sqlite")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    async with AsyncSession(engine) as session:
        session.add(Item(name=f"item {{n}}"))
        await session.commit()
        assert await session.scalar(select(func.count()).select_from(Item)) == 1
    await engine.dispose()
"""

# One engine per worker, each test in a rolled-back transaction: what the plugin enables.
SHARED_ENGINE_CONFTEST = """\
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from models import Base


@pytest.fixture(scope="session")
async def engine(tmp_path_factory):
    engine = create_async_engine(
        f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db')}/db.sqlite"
    )
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield engine
    await engine.dispose()


@pytest.fixture
async def session(engine):
    async with engine.connect() as conn:
        transaction = await conn.begin()
        async with AsyncSession(bind=conn) as session:
            yield session
        await transaction.rollback()
"""

SHARED_ENGINE = """\
import pytest
from sqlalchemy import func, select
from models import Item


@pytest.mark.parametrize("n", range({count}))
async def test_item(session, n):
    session.add(Item(name=f"item {{n}}"))
    await session.flush()
    assert await session.scalar(select(func.count()).select_from(Item)) == 1
"""

# The soak suite: sync tests, async database tests on a shared engine, tests that start
# tasks and leave them to the plugin, logging; with a probe that records each worker's
# peak RSS after its 1000th and its last test.
SOAK_CONFTEST = (
    SHARED_ENGINE_CONFTEST
    + """

import json, os, resource

_done = 0


def pytest_runtest_logfinish(nodeid, location):
    global _done
    _done += 1
    if _done == 1000:
        _write("after_1000")


def pytest_sessionfinish(session):
    _write("at_end")


def _write(when):
    worker = os.environ.get("PYTEST_XDIST_WORKER", "master")
    with open(os.environ["BENCH_RSS_FILE"], "a") as out:
        peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        out.write(json.dumps({"worker": worker, "when": when, "tests": _done, "peak_kb": peak_kb}) + "\\n")
"""
)

SOAK = """\
import asyncio
import logging
import pytest
from sqlalchemy import func, select
from models import Item

log = logging.getLogger("soak")


@pytest.mark.parametrize("n", range({count}))
def test_sync(n):
    assert sum(range(n % 50)) >= 0


@pytest.mark.parametrize("n", range({count}))
async def test_database(session, n):
    session.add(Item(name=f"item {{n}}"))
    await session.flush()
    assert await session.scalar(select(func.count()).select_from(Item)) == 1


@pytest.mark.parametrize("n", range({count}))
async def test_leaves_a_task(n):
    async def ticker():
        while True:
            await asyncio.sleep(0.001)

    asyncio.create_task(ticker())
    await asyncio.sleep(0)


@pytest.mark.parametrize("n", range({count}))
async def test_logs(caplog, n):
    caplog.set_level(logging.INFO)
    log.info("message %d", n)
    await asyncio.sleep(0)
    assert caplog.messages == [f"message {{n}}"]
"""


# A set-up of about a second: many tables, some rows each. BENCH_SETUP says who runs
# it: the plugin's hook (once per run, copied), a session fixture in every worker (the
# hook per worker, as before 1.0), or nobody (the floor: no set-up at all).
DATABASE_CONFTEST = """\
import os
import time

import pytest
import sqlalchemy as sa

TABLES, ROWS = 200, 50
metadata = sa.MetaData()
tables = [
    sa.Table(
        f"t{i}",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(40)),
        sa.Column("value", sa.Integer),
    )
    for i in range(TABLES)
]
SETUP = os.environ["BENCH_SETUP"]


async def set_up(engine):
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        for table in tables:
            await conn.execute(
                table.insert(), [{"name": f"row {n}", "value": n} for n in range(ROWS)]
            )


if SETUP == "hook":

    async def pytest_green_light_setup_database(engine, worker_id):
        await set_up(engine)

elif SETUP == "fixture":

    @pytest.fixture(scope="session", autouse=True)
    async def per_worker_set_up(green_light_engine):
        await set_up(green_light_engine)


_first = []


def pytest_runtest_call(item):
    if not _first:  # the first test of this process: time to the first test
        _first.append(time.time())
        with open(os.environ["BENCH_FIRST_TEST"], "a") as out:
            out.write(f"{_first[0]}\\n")
"""

DATABASE_TESTS = """\
import sqlalchemy as sa


async def test_query_{n}(green_light_session):
    assert await green_light_session.scalar(sa.text("SELECT 1")) == 1
"""


def database_suite(root: Path, count: int) -> Path:
    body = "\n\n".join(DATABASE_TESTS.format(n=n) for n in range(count))
    tests = {
        f"test_db_{i}.py": body.replace("test_query_", f"test_query_{i}_")
        for i in range(10)
    }
    ini = INI.replace("asyncio_mode = auto\n", "")
    return write(
        root / "database",
        {"pytest.ini": ini, "conftest.py": DATABASE_CONFTEST, **tests},
    )


def per_test_engine(root: Path, count: int) -> Path:
    files = {"pytest.ini": INI, "models.py": MODELS}
    files.update(split("test_per_test_engine", PER_TEST_ENGINE, count))
    return write(root / "per_test_engine", files)


def shared_engine(root: Path, count: int) -> Path:
    files = {
        "pytest.ini": INI,
        "models.py": MODELS,
        "conftest.py": SHARED_ENGINE_CONFTEST,
    }
    files.update(split("test_shared_engine", SHARED_ENGINE, count))
    return write(root / "shared_engine", files)


def soak(root: Path, count: int) -> Path:
    """``count`` tests in all, a quarter of each kind, over ten files."""
    files = {"pytest.ini": INI, "models.py": MODELS, "conftest.py": SOAK_CONFTEST}
    files.update(split("test_soak", SOAK, count // 4))
    return write(root / "soak", files)
