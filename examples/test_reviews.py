from typing import Optional

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from bookshop import services
from bookshop.models import Book, Review


async def test_review_is_listed_with_its_book(
    session: AsyncSession, catalogue: dict[str, Book]
) -> None:
    parable = catalogue["Parable of the Sower"]

    await services.add_review(session, parable, 4, "Prescient.")
    session.expunge_all()  # load from the database, as a fresh request would
    book = await services.get_book(session, parable.id)

    assert book is not None
    assert [(r.rating, r.comment) for r in book.reviews] == [(4, "Prescient.")]
    assert book.author.name == "Octavia E. Butler"


@pytest.mark.parametrize(
    ("title", "average"),
    [
        ("A Wizard of Earthsea", 4.5),
        ("Kindred", 14 / 3),
        ("Parable of the Sower", None),
    ],
)
async def test_average_rating(
    session: AsyncSession,
    catalogue: dict[str, Book],
    title: str,
    average: Optional[float],
) -> None:
    assert await services.average_rating(session, catalogue[title].id) == pytest.approx(
        average
    )


async def test_top_rated_books_best_first(
    session: AsyncSession, catalogue: dict[str, Book]
) -> None:
    assert await services.top_rated_books(session, limit=3) == [
        ("The Left Hand of Darkness", 5.0),
        ("Kindred", pytest.approx(4.667, abs=1e-3)),
        ("A Wizard of Earthsea", 4.5),
    ]


async def test_new_reviews_change_the_ranking(
    session: AsyncSession, catalogue: dict[str, Book]
) -> None:
    for rating in (5, 5, 5, 5):
        await services.add_review(session, catalogue["Small Gods"], rating)

    top = await services.top_rated_books(session, limit=3)

    assert top[2] == ("Small Gods", pytest.approx(4.6))


@pytest.mark.parametrize("rating", [0, 6, -1])
def test_rating_outside_one_to_five_is_rejected(rating: int) -> None:
    with pytest.raises(ValueError, match="between 1 and 5"):
        Review(rating=rating)


def test_ratings_one_to_five_are_accepted() -> None:
    assert [Review(rating=rating).rating for rating in range(1, 6)] == [1, 2, 3, 4, 5]
