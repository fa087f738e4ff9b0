"""The run's template: the database the set-up hook runs on once, whose copies the
workers' databases are, kept between runs with ``--green-light-reuse-db`` while its
fingerprint matches.

The template carries a marker (``servers.Server.mark``: a PostgreSQL or MySQL
database comment, a SQLite side-car file) naming the URL it was built for and its
fingerprint; a database of that name without the marker is not the plugin's, and is
never dropped.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from pluggy import HookCaller
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from pytest_green_light.database.servers import open_server
from pytest_green_light.database.url import masked, template_database_url, without
from pytest_green_light.database.worker_database import run_setup_hook

MARKER = "pytest-green-light template"


def _marker(url: URL, fingerprint: str | None) -> str:
    return (
        f"{MARKER}; url={masked(without(url, 'password'))}; fingerprint={fingerprint}"
    )


def _marked_url(marker: str) -> str:
    return marker.split("; url=", 1)[1].split("; fingerprint=", 1)[0]


class Template:
    """The run's template, prepared at session start (the xdist controller's, or a run
    without xdist that reuses it) and dropped at the end unless kept."""

    def __init__(
        self,
        base_url: URL,
        setup_hook: HookCaller,
        *,
        reuse: bool,
        rebuild: bool,
        fingerprint: Callable[[], str],
    ) -> None:
        self.base_url = base_url
        self.url = template_database_url(base_url)
        self.setup_hook = setup_hook
        self.reuse = reuse
        self.rebuild = rebuild
        self._fingerprint = fingerprint
        self.fingerprint: str | None = None
        self.built = False  # prepared: built, or reused
        self.reused = False
        self.not_copied: str | None = None  # what a copy would lose (MySQL triggers)
        self.seconds = 0.0  # to build it

    @property
    def name(self) -> str:
        return str(self.url.database)

    async def prepare(self) -> None:
        """Reuse the stored template if asked and it matches, else build it: a copy
        of the URL's database (or empty), set up by the hook."""
        started = time.monotonic()
        self.fingerprint = self._fingerprint() if self.reuse else None
        marker = _marker(self.base_url, self.fingerprint)
        base = str(self.base_url.database)
        async with open_server(self.url) as server:
            if await server.exists(self.name):
                stored = await server.marker(self.name)
                self._require_ours(stored, server.address)
                if self.reuse and not self.rebuild and stored == marker:
                    await server.require_unused(self.name)
                    self.not_copied = await server.not_copied(self.name)
                    self.reused = self.built = True
                    self.seconds = time.monotonic() - started
                    return
                await server.drop(self.name)  # stale, or a crashed run's
            await server.require_create(
                self.name, also=f" and the workers' {base}_gw0, {base}_gw1..."
            )
            base_exists = await server.exists(base)
            if base_exists:
                await server.require_unused(base)
            await server.create(self.name, base if base_exists else None)
        engine = create_async_engine(self.url, poolclass=NullPool)
        try:
            try:
                await run_setup_hook(self.setup_hook, engine, "template")
            finally:
                await engine.dispose()
        except BaseException:
            await self.drop()
            raise
        async with open_server(self.url) as server:
            await server.mark(self.name, marker)
            self.not_copied = await server.not_copied(self.name)
        self.built = True
        self.seconds = time.monotonic() - started

    def _require_ours(self, stored: str | None, address: str) -> None:
        if stored is None or not stored.startswith(MARKER):
            raise pytest.UsageError(
                f"A database named {self.name!r} exists on {address}, and "
                "pytest-green-light did not create it, so it will not drop or use it: "
                "it names the workers' template after the URL's database. Rename or "
                "drop that database, or use another database name in the URL."
            )
        ours = masked(without(self.base_url, "password"))
        if _marked_url(stored) != ours:
            raise pytest.UsageError(
                f"The stored template {self.name!r} on {address} was built for "
                f"{_marked_url(stored)}, not {ours}; pytest-green-light leaves it alone. "
                "Drop it, or use another database name in the URL."
            )

    async def drop(self) -> None:
        async with open_server(self.url) as server:
            await server.drop(self.name)
