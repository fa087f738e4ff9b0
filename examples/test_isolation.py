"""What the fixtures in conftest.py guarantee: a clean database for every test."""

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bookshop import services
from bookshop.models import Author

count_authors = select(func.count(Author.id))


# Whichever of these runs first commits an author; the others still start from zero.
@pytest.mark.parametrize(
    "name", ["Italo Calvino", "Jorge Luis Borges", "Clarice Lispector"]
)
async def test_every_test_starts_with_an_empty_database(
    session: AsyncSession, name: str
) -> None:
    assert await session.scalar(count_authors) == 0

    await services.add_author(session, name)  # commits

    assert await session.scalar(count_authors) == 1


async def test_commits_stay_inside_the_test_transaction(
    session: AsyncSession, engine: AsyncEngine
) -> None:
    await services.add_author(session, "Italo Calvino")

    async with engine.connect() as other_connection:
        assert await other_connection.scalar(count_authors) == 0


async def test_rolling_back_a_savepoint_keeps_earlier_commits(
    session: AsyncSession,
) -> None:
    await services.add_author(session, "Italo Calvino")
    savepoint = await session.begin_nested()
    session.add(Author(name="Jorge Luis Borges"))
    await session.flush()

    await savepoint.rollback()

    assert (await session.scalars(select(Author.name))).all() == ["Italo Calvino"]


async def test_runs_on_the_worker_event_loop(
    green_light_loop: asyncio.AbstractEventLoop,
) -> None:
    # The loop the session-scoped engine was set up on, shared by every test here.
    assert asyncio.get_running_loop() is green_light_loop


def test_each_worker_has_a_database_file_of_its_own(
    engine: AsyncEngine, worker_id: str
) -> None:
    path = Path(str(engine.url.database))

    assert path.is_file()
    # pytest-green-light names it after green_light_db_url and the xdist worker.
    assert path.name == (
        "bookshop.db" if worker_id == "master" else f"bookshop_{worker_id}.db"
    )
