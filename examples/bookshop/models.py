"""The bookshop's tables: authors write books, books carry tags and collect reviews."""

# SQLAlchemy evaluates these Mapped[...] annotations at runtime, so they are written for
# Python 3.9: Optional[str], as `str | None` fails there even with the __future__ import.
from decimal import Decimal
from typing import Optional

from sqlalchemy import Column, ForeignKey, String, Table
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    mapped_column,
    relationship,
    validates,
)


class Base(DeclarativeBase):
    pass


book_tags = Table(
    "book_tags",
    Base.metadata,
    Column("book_id", ForeignKey("books.id"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id"), primary_key=True),
)


class Author(Base):
    __tablename__ = "authors"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)

    books: Mapped[list["Book"]] = relationship(
        back_populates="author", cascade="all, delete-orphan", order_by="Book.year"
    )


class Book(Base):
    __tablename__ = "books"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    year: Mapped[int]
    price_cents: Mapped[int]
    author_id: Mapped[int] = mapped_column(ForeignKey("authors.id"))

    author: Mapped[Author] = relationship(back_populates="books")
    tags: Mapped[list["Tag"]] = relationship(secondary=book_tags, order_by="Tag.name")
    reviews: Mapped[list["Review"]] = relationship(
        back_populates="book", cascade="all, delete-orphan", order_by="Review.id"
    )

    @property
    def price(self) -> Decimal:
        return Decimal(self.price_cents) / 100


class Tag(Base):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)


class Review(Base):
    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    book_id: Mapped[int] = mapped_column(ForeignKey("books.id"))
    rating: Mapped[int]
    comment: Mapped[Optional[str]]

    book: Mapped[Book] = relationship(back_populates="reviews")

    @validates("rating")
    def _check_rating(self, key: str, rating: int) -> int:
        if not 1 <= rating <= 5:
            raise ValueError(f"rating must be between 1 and 5, not {rating}")
        return rating
