"""A small catalogue for local development (`load_catalogue`) and for the tests."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bookshop import services
from bookshop.models import Book

# author -> (title, year, price in cents, tags, ratings of its reviews)
CATALOGUE = {
    "Ursula K. Le Guin": [
        ("A Wizard of Earthsea", 1968, 899, ["classic", "fantasy"], [5, 4]),
        ("The Left Hand of Darkness", 1969, 1099, ["classic", "science fiction"], [5]),
        ("The Dispossessed", 1974, 1199, ["science fiction"], [4, 3]),
    ],
    "Octavia E. Butler": [
        ("Kindred", 1979, 1050, ["classic"], [5, 5, 4]),
        ("Parable of the Sower", 1993, 1299, ["science fiction"], []),
    ],
    "Terry Pratchett": [
        ("Small Gods", 1992, 999, ["fantasy", "humour"], [3]),
    ],
    "N. K. Jemisin": [],
}


async def load_catalogue(session: AsyncSession) -> dict[str, Book]:
    """Add CATALOGUE to the database; returns the books by title."""
    books: dict[str, Book] = {}
    for name, titles in CATALOGUE.items():
        author = await services.add_author(session, name)
        for title, year, price_cents, tags, ratings in titles:
            book = await services.add_book(
                session, author, title, year=year, price_cents=price_cents, tags=tags
            )
            for rating in ratings:
                await services.add_review(session, book, rating)
            books[title] = book
    return books
