"""The bookshop's database engine."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def make_engine(url: str) -> AsyncEngine:
    engine = create_async_engine(url)
    if engine.dialect.name == "sqlite":
        _use_real_sqlite_transactions(engine)
    return engine


def _use_real_sqlite_transactions(engine: AsyncEngine) -> None:
    """Have SQLAlchemy emit BEGIN itself instead of the sqlite3 driver.

    The driver begins transactions lazily and never before a SAVEPOINT, so without this
    a released savepoint commits for good. See "Transactions with SQLite and the sqlite3
    driver" in SQLAlchemy's SQLite dialect documentation.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _disable_driver_transactions(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN")
