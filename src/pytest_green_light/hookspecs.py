"""Hooks pytest-green-light adds; implement them in a conftest.py or a plugin."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine


def pytest_green_light_setup_database(engine: AsyncEngine, worker_id: str) -> None:
    """Set up a database pytest-green-light has just created for a worker: create
    tables (``await conn.run_sync(metadata.create_all)``), seed data.

    Called once per run on the template the workers' databases are copies of
    (``worker_id="template"``), at session start, with an engine on it that is disposed
    afterwards; without xdist, once on the database itself (``master``); per worker
    (``gw0``, ``gw1``…) only where no copy can reach it (SQLite on remote workers).
    Implementations may be ``async def`` (awaited) or plain functions. Only hooks
    defined in plugins and the conftest.py files pytest loads before the session
    starts (those next to the test paths) are called.
    """


@pytest.hookspec(firstresult=True)
def pytest_green_light_database_fingerprint(config: pytest.Config) -> str | None:
    """What the stored template is built from, for ``--green-light-reuse-db``: a
    template whose fingerprint differs is rebuilt. Alembic users return the head
    revision. None (or no implementation): a hash of the plugin's version, the URL
    without its password, every ``conftest.py`` and non-test module under the rootdir,
    and every file under directories named ``alembic`` or ``migrations``.
    """
