import pytest
from sqlalchemy import text


@pytest.mark.asyncio
@pytest.mark.parametrize("n", range(3))
async def test_session_query(session, n):
    assert await session.scalar(text("SELECT CAST(:n AS integer)"), {"n": n}) == n


@pytest.mark.asyncio
@pytest.mark.parametrize("n", range(3))
async def test_own_connection(connection, n):
    assert await connection.fetchval("SELECT $1::int", n) == n


def test_sync_in_between():
    assert True


@pytest.mark.asyncio
async def test_session_after_sync(session):
    assert await session.scalar(text("SELECT 1")) == 1
