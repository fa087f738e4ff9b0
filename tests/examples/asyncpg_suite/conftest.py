import os

import asyncpg
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

DATABASE_URL = os.environ["DATABASE_URL"]  # postgresql+asyncpg://...


# The way people write it first: session-scoped, no loop_scope.
@pytest_asyncio.fixture(scope="session")
async def engine():
    engine = create_async_engine(DATABASE_URL)
    yield engine
    await engine.dispose()


@pytest_asyncio.fixture
async def session(engine):
    async with async_sessionmaker(engine, class_=AsyncSession)() as session:
        yield session


# A function-scoped connection of its own, opened by the fixture and used by the test.
@pytest_asyncio.fixture
async def connection():
    conn = await asyncpg.connect(DATABASE_URL.replace("+asyncpg", ""))
    yield conn
    await conn.close()
