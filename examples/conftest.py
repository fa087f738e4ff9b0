"""Database fixtures: pytest-green-light's database per worker, rolled back per test.

pytest.ini names the database (`green_light_db_url`). Under pytest-xdist every worker
gets a file of its own (bookshop_gw0.db, bookshop_gw1.db...), created at the start of
the run and removed at the end; the hook below creates the tables in each.

No event loop fixture and no loop scopes: pytest-green-light runs every test and
fixture of a worker on one loop, the loop the session-scoped engine opened its pooled
connections on (drivers such as asyncpg refuse connections from another loop).
"""

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bookshop.models import Base, Book
from bookshop.sample_data import load_catalogue


async def pytest_green_light_setup_database(
    engine: AsyncEngine, worker_id: str
) -> None:
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)


# The suite's own names for the plugin's fixtures.
@pytest.fixture
def engine(green_light_engine: AsyncEngine) -> AsyncEngine:
    """This worker's engine, for the whole session."""
    return green_light_engine


@pytest.fixture
def session(green_light_session: AsyncSession) -> AsyncSession:
    """A session whose changes are rolled back after the test, even the ones the
    application commits: `await session.commit()` only releases a savepoint."""
    return green_light_session


@pytest.fixture
async def catalogue(session: AsyncSession) -> dict[str, Book]:
    """The sample catalogue, committed through the services; its books by title."""
    return await load_catalogue(session)
