"""The application under test in the sync IO tests: models and a service function.

Not a test module nor a conftest file: to pytest-green-light, application code.
"""

from sqlalchemy import ForeignKey
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    mapped_column,
    relationship,
)


class Base(DeclarativeBase):
    pass


class Author(Base):
    __tablename__ = "authors"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]
    books: Mapped[list["Book"]] = relationship(back_populates="author")


class Book(Base):
    __tablename__ = "books"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str]
    author_id: Mapped[int] = mapped_column(ForeignKey("authors.id"))
    author: Mapped[Author] = relationship(back_populates="books")


def book_count(author: Author) -> int:
    return len(author.books)  # a lazy load: sync IO in application code


def reload_author(session: Session, author_id: int) -> Author:
    return session.get(Author, author_id, populate_existing=True)  # sync session IO
