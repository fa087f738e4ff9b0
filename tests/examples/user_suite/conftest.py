import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine


# The way people write it first: session-scoped, no loop_scope.
@pytest_asyncio.fixture(scope="session")
async def engine(tmp_path_factory):
    engine = create_async_engine(
        f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db')}/app.db"
    )
    async with engine.begin() as conn:
        await conn.execute(
            text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        )
    yield engine
    await engine.dispose()
