"""Greenlet context at session start, and MissingGreenlet diagnostics."""

from __future__ import annotations

import pytest

from conftest import Inner


@pytest.mark.compat
def test_session_fails_once_with_a_clear_message_without_greenlet(
    inner: Inner, distribution: str
) -> None:
    inner.distribution = distribution
    inner.pytester.makeconftest(
        """
        import sys
        sys.modules["greenlet"] = None  # what an environment without greenlet looks like
        """
    )
    inner.pytester.makepyfile(**{f"test_{i}": "def test_x(): pass" for i in range(3)})

    result = inner.run()

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    output = result.stdout.str() + result.stderr.str()
    assert output.count("cannot establish greenlet context") == 1, output
    result.stderr.fnmatch_lines(
        [
            "ERROR: pytest-green-light cannot establish greenlet context: *",
            "*SQLAlchemy 2.1 no longer installs greenlet*pip install greenlet*",
        ]
    )


@pytest.mark.compat
def test_missing_greenlet_failure_names_versions_and_fixes(
    inner: Inner, driver: str
) -> None:
    inner.driver = driver
    inner.pytester.makeini(
        "[pytest]\nfilterwarnings = error\ngreen_light_sync_io = off\n"
    )
    inner.pytester.makepyfile(
        test_lazy="""
        from typing import List
        import pytest
        from sqlalchemy import ForeignKey, select
        from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
        from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


        class Base(DeclarativeBase):
            pass


        class Author(Base):
            __tablename__ = "authors"
            id: Mapped[int] = mapped_column(primary_key=True)
            books: Mapped[List["Book"]] = relationship()


        class Book(Base):
            __tablename__ = "books"
            id: Mapped[int] = mapped_column(primary_key=True)
            author_id: Mapped[int] = mapped_column(ForeignKey("authors.id"))


        @pytest.mark.asyncio
        async def test_lazy_load_in_async_code(tmp_path):
            engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path}/lazy.db")
            async with engine.begin() as conn:
                await conn.run_sync(Base.metadata.create_all)
            async with AsyncSession(engine) as session:
                session.add(Author(id=1))
                await session.commit()
                author = await session.scalar(select(Author))
                try:
                    author.books  # a lazy load: needs IO outside greenlet_spawn
                finally:
                    await engine.dispose()
        """
    )

    result = inner.run()

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*MissingGreenlet*",
            "*pytest-green-light: MissingGreenlet*",
            "*Environment: Python *, sqlalchemy *, greenlet *, pytest-asyncio *, "
            "pytest-xdist *; pytest-green-light loop scope session, sync IO off, "
            "async tests driven by *",
            "Fixes: load relationships eagerly (selectinload / joinedload)*",
        ]
    )
