"""What the bookshop's web handlers call: each function is one unit of work."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bookshop.models import Author, Book, Review, Tag


class BookNotFound(LookupError):
    pass


async def add_author(session: AsyncSession, name: str) -> Author:
    author = Author(name=name)
    session.add(author)
    await session.commit()
    return author


async def add_book(
    session: AsyncSession,
    author: Author,
    title: str,
    *,
    year: int,
    price_cents: int,
    tags: Iterable[str] = (),
) -> Book:
    book = Book(
        author=author,
        title=title,
        year=year,
        price_cents=price_cents,
        tags=await _get_or_create_tags(session, tags),
    )
    session.add(book)
    await session.commit()
    return book


async def add_review(
    session: AsyncSession, book: Book, rating: int, comment: str | None = None
) -> Review:
    review = Review(book=book, rating=rating, comment=comment)
    session.add(review)
    await session.commit()
    return review


async def get_author(session: AsyncSession, author_id: int) -> Author | None:
    """The author with their books and the books' tags, ready to render."""
    # A query rather than session.get(), which would hand back an author already in
    # the session as it is, without loading the books.
    query = (
        select(Author)
        .where(Author.id == author_id)
        .options(selectinload(Author.books).selectinload(Book.tags))
    )
    return await session.scalar(query)


async def get_book(session: AsyncSession, book_id: int) -> Book | None:
    """The book with its author, tags and reviews, ready to render."""
    query = (
        select(Book)
        .where(Book.id == book_id)
        .options(
            selectinload(Book.author),
            selectinload(Book.tags),
            selectinload(Book.reviews),
        )
    )
    return await session.scalar(query)


async def list_books(
    session: AsyncSession, *, tag: str | None = None
) -> Sequence[Book]:
    query = (
        select(Book)
        .options(selectinload(Book.author), selectinload(Book.tags))
        .order_by(Book.year, Book.title)
    )
    if tag is not None:
        query = query.where(Book.tags.any(Tag.name == tag))
    return (await session.scalars(query)).all()


async def search_books(session: AsyncSession, text: str) -> Sequence[Book]:
    """Books whose title or author's name contains ``text``, ignoring case."""
    query = (
        select(Book)
        .join(Book.author)
        .where(
            or_(
                Book.title.icontains(text, autoescape=True),
                Author.name.icontains(text, autoescape=True),
            )
        )
        .options(selectinload(Book.author))
        .order_by(Book.title)
    )
    return (await session.scalars(query)).all()


async def reprice_book(session: AsyncSession, book_id: int, price_cents: int) -> Book:
    book = await session.get(Book, book_id)
    if book is None:
        raise BookNotFound(book_id)
    book.price_cents = price_cents
    await session.commit()
    return book


async def delete_author(session: AsyncSession, author_id: int) -> bool:
    """Delete the author, their books and the books' reviews; False if there was none."""
    author = await session.get(Author, author_id)
    if author is None:
        return False
    await session.delete(author)
    await session.commit()
    return True


async def count_books_by_author(session: AsyncSession) -> dict[str, int]:
    query = (
        select(Author.name, func.count(Book.id))
        .outerjoin(Author.books)
        .group_by(Author.id)
        .order_by(Author.name)
    )
    rows = await session.execute(query)
    return dict(rows.all())


async def average_rating(session: AsyncSession, book_id: int) -> float | None:
    query = select(func.avg(Review.rating)).where(Review.book_id == book_id)
    return await session.scalar(query)


async def top_rated_books(
    session: AsyncSession, limit: int = 3
) -> list[tuple[str, float]]:
    """Titles and average ratings of the best-reviewed books, best first."""
    average = func.avg(Review.rating).label("average")
    query = (
        select(Book.title, average)
        .join(Book.reviews)
        .group_by(Book.id)
        .order_by(average.desc(), Book.title)
        .limit(limit)
    )
    rows = await session.execute(query)
    return [(title, rating) for title, rating in rows]


async def _get_or_create_tags(session: AsyncSession, names: Iterable[str]) -> list[Tag]:
    wanted = list(dict.fromkeys(names))  # unique, in the given order
    existing = await session.scalars(select(Tag).where(Tag.name.in_(wanted)))
    by_name = {tag.name: tag for tag in existing}
    return [by_name.get(name) or Tag(name=name) for name in wanted]
