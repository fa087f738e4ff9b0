import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from bookshop import services
from bookshop.models import Book


@pytest.mark.parametrize(
    ("text", "titles"),
    [
        ("earthsea", ["A Wizard of Earthsea"]),
        ("GODS", ["Small Gods"]),
        (
            "the",
            ["Parable of the Sower", "The Dispossessed", "The Left Hand of Darkness"],
        ),
        ("butler", ["Kindred", "Parable of the Sower"]),
        (
            "le guin",
            ["A Wizard of Earthsea", "The Dispossessed", "The Left Hand of Darkness"],
        ),
        ("calvino", []),
    ],
)
async def test_search_matches_titles_and_authors_ignoring_case(
    session: AsyncSession, catalogue: dict[str, Book], text: str, titles: list[str]
) -> None:
    books = await services.search_books(session, text)

    assert [book.title for book in books] == titles


@pytest.mark.parametrize("wildcard", ["%", "_"])
async def test_search_treats_sql_wildcards_literally(
    session: AsyncSession, catalogue: dict[str, Book], wildcard: str
) -> None:
    assert await services.search_books(session, wildcard) == []


async def test_search_finds_books_added_in_the_same_test(
    session: AsyncSession, catalogue: dict[str, Book]
) -> None:
    pratchett = catalogue["Small Gods"].author
    await services.add_book(
        session, pratchett, "Going Postal", year=2004, price_cents=999
    )

    books = await services.search_books(session, "pratchett")

    assert [(book.title, book.author.name) for book in books] == [
        ("Going Postal", "Terry Pratchett"),
        ("Small Gods", "Terry Pratchett"),
    ]
