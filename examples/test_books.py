from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bookshop import services
from bookshop.models import Author, Book, Tag


class TestAddBook:
    async def test_links_the_book_to_its_author(self, session: AsyncSession) -> None:
        calvino = await services.add_author(session, "Italo Calvino")

        book = await services.add_book(
            session, calvino, "Invisible Cities", year=1972, price_cents=1400
        )

        assert book.author_id == calvino.id
        author = await services.get_author(session, calvino.id)
        assert author is calvino
        assert author.books == [book]

    async def test_reuses_existing_tags(
        self, session: AsyncSession, catalogue: dict[str, Book]
    ) -> None:
        author = catalogue["Kindred"].author

        book = await services.add_book(
            session,
            author,
            "Dawn",
            year=1987,
            price_cents=1150,
            tags=["science fiction", "first contact"],
        )

        assert {tag.name for tag in book.tags} == {"science fiction", "first contact"}
        assert await session.scalar(select(func.count(Tag.id))) == 5

    async def test_stores_a_repeated_tag_once(self, session: AsyncSession) -> None:
        calvino = await services.add_author(session, "Italo Calvino")

        book = await services.add_book(
            session,
            calvino,
            "Cosmicomics",
            year=1965,
            price_cents=1300,
            tags=["stories", "stories"],
        )

        assert [tag.name for tag in book.tags] == ["stories"]


class TestListBooks:
    async def test_lists_all_books_oldest_first(
        self, session: AsyncSession, catalogue: dict[str, Book]
    ) -> None:
        books = await services.list_books(session)

        assert [(book.year, book.author.name) for book in books] == [
            (1968, "Ursula K. Le Guin"),
            (1969, "Ursula K. Le Guin"),
            (1974, "Ursula K. Le Guin"),
            (1979, "Octavia E. Butler"),
            (1992, "Terry Pratchett"),
            (1993, "Octavia E. Butler"),
        ]

    @pytest.mark.parametrize(
        ("tag", "titles"),
        [
            ("fantasy", ["A Wizard of Earthsea", "Small Gods"]),
            (
                "classic",
                ["A Wizard of Earthsea", "The Left Hand of Darkness", "Kindred"],
            ),
            ("poetry", []),
        ],
    )
    async def test_filters_by_tag(
        self,
        session: AsyncSession,
        catalogue: dict[str, Book],
        tag: str,
        titles: list[str],
    ) -> None:
        books = await services.list_books(session, tag=tag)

        assert [book.title for book in books] == titles
        assert all(tag in {t.name for t in book.tags} for book in books)


class TestRepriceBook:
    async def test_updates_the_stored_price(
        self, session: AsyncSession, catalogue: dict[str, Book]
    ) -> None:
        book_id = catalogue["Small Gods"].id

        await services.reprice_book(session, book_id, 799)

        stored = await session.scalar(
            select(Book.price_cents).where(Book.id == book_id)
        )
        assert stored == 799

    async def test_unknown_book_raises(self, session: AsyncSession) -> None:
        with pytest.raises(services.BookNotFound):
            await services.reprice_book(session, 404, 799)


async def test_deleting_an_author_keeps_the_tags_of_their_books(
    session: AsyncSession, catalogue: dict[str, Book]
) -> None:
    author_id = catalogue["Small Gods"].author_id

    await services.delete_author(session, author_id)

    tags = await session.scalars(select(Tag.name).order_by(Tag.name))
    assert tags.all() == ["classic", "fantasy", "humour", "science fiction"]
    assert await session.get(Author, author_id) is None


@pytest.mark.parametrize(
    ("price_cents", "price"),
    [(899, Decimal("8.99")), (1000, Decimal("10")), (5, Decimal("0.05"))],
)
def test_price_is_in_dollars(price_cents: int, price: Decimal) -> None:
    assert Book(title="Any", year=2000, price_cents=price_cents).price == price
