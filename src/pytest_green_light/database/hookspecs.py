"""Hooks pytest-green-light adds; implement them in a conftest.py or a plugin."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine


def pytest_green_light_setup_database(engine: AsyncEngine, worker_id: str) -> None:
    """Set up a database pytest-green-light has just created for a worker: create
    tables (``await conn.run_sync(metadata.create_all)``), seed data.

    Called once per created database, at session start, with an engine on it that is
    disposed afterwards; ``worker_id`` is ``gw0``, ``gw1``… or ``master`` without xdist.
    Implementations may be ``async def`` (awaited) or plain functions. Only hooks
    defined in plugins and the conftest.py files pytest loads before the session
    starts (those next to the test paths) are called.
    """
