import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bookshop import services
from bookshop.models import Author, Book, Review


async def test_add_author_assigns_an_id(session: AsyncSession) -> None:
    author = await services.add_author(session, "Italo Calvino")

    assert isinstance(author.id, int)
    assert await session.get(Author, author.id) is author


async def test_author_names_are_unique(session: AsyncSession) -> None:
    await services.add_author(session, "Italo Calvino")

    with pytest.raises(IntegrityError):
        await services.add_author(session, "Italo Calvino")
    await session.rollback()  # undoes the failed commit only, not the first one

    assert await session.scalar(select(func.count(Author.id))) == 1


async def test_get_author_loads_books_and_their_tags(
    session: AsyncSession, catalogue: dict[str, Book]
) -> None:
    le_guin_id = catalogue["The Dispossessed"].author_id
    session.expunge_all()  # load from the database, as a fresh request would

    author = await services.get_author(session, le_guin_id)

    assert author is not None
    assert [book.title for book in author.books] == [
        "A Wizard of Earthsea",
        "The Left Hand of Darkness",
        "The Dispossessed",
    ]
    assert [tag.name for tag in author.books[1].tags] == ["classic", "science fiction"]


async def test_get_unknown_author_returns_none(session: AsyncSession) -> None:
    assert await services.get_author(session, 404) is None


async def test_delete_author_removes_their_books_and_reviews(
    session: AsyncSession, catalogue: dict[str, Book]
) -> None:
    butler_id = catalogue["Kindred"].author_id

    assert await services.delete_author(session, butler_id) is True

    titles = await session.scalars(select(Book.title).order_by(Book.title))
    assert titles.all() == [
        "A Wizard of Earthsea",
        "Small Gods",
        "The Dispossessed",
        "The Left Hand of Darkness",
    ]
    assert await session.scalar(select(func.count(Review.id))) == 6


async def test_delete_unknown_author_returns_false(session: AsyncSession) -> None:
    assert await services.delete_author(session, 404) is False


async def test_count_books_by_author_includes_authors_without_books(
    session: AsyncSession, catalogue: dict[str, Book]
) -> None:
    assert await services.count_books_by_author(session) == {
        "N. K. Jemisin": 0,
        "Octavia E. Butler": 2,
        "Terry Pratchett": 1,
        "Ursula K. Le Guin": 3,
    }


def test_new_author_has_no_books() -> None:
    assert Author(name="Italo Calvino").books == []
