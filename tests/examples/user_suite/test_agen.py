import pytest


async def rows():
    try:
        yield 1
        yield 2
    finally:
        pass


@pytest.mark.asyncio
async def test_takes_first_row_and_drops_the_generator():
    agen = rows()
    assert await agen.__anext__() == 1
    del agen


@pytest.mark.asyncio
async def test_next():
    pass
