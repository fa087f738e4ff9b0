import pytest
from sqlalchemy import text


@pytest.mark.asyncio
@pytest.mark.parametrize("n", range(3))
async def test_engine_works(engine, n):
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO notes (body) VALUES (:b)"), {"b": str(n)})
        assert await conn.scalar(text("SELECT count(*) FROM notes")) >= 1
