"""Database fixtures: one engine per test worker, one rolled-back transaction per test.

No event loop fixture and no loop scopes: pytest-green-light runs every test and
fixture of a worker on one loop, the loop the session-scoped engine opened its pooled
connections on (drivers such as asyncpg refuse connections from another loop).
"""

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bookshop.database import make_engine
from bookshop.models import Base, Book
from bookshop.sample_data import load_catalogue


@pytest.fixture(scope="session")
async def engine(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[AsyncEngine]:
    # tmp_path_factory is per xdist worker, so each worker gets its own database file.
    path = tmp_path_factory.mktemp("db") / "bookshop.db"
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    yield engine
    await engine.dispose()


@pytest.fixture
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session inside a transaction that is rolled back after the test.

    The session joins the outer transaction through a SAVEPOINT, so the application's
    own `await session.commit()` calls only release that savepoint: whatever a test
    commits is still undone by the rollback. (SQLAlchemy's recipe "Joining a Session
    into an External Transaction"; on SQLite it needs the BEGIN handling in
    bookshop/database.py.)
    """
    async with engine.connect() as connection:
        transaction = await connection.begin()
        async with AsyncSession(
            bind=connection,
            join_transaction_mode="create_savepoint",
            expire_on_commit=False,  # as async apps configure it: no lazy refresh
        ) as session:
            yield session
        await transaction.rollback()


@pytest.fixture
async def catalogue(session: AsyncSession) -> dict[str, Book]:
    """The sample catalogue, committed through the services; its books by title."""
    return await load_catalogue(session)
