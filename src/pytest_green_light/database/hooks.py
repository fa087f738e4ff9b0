"""A run with a database URL, hook by hook: the controller's check before any worker
starts, each worker's database from session start to finish, the header and summary.

Imported only when a URL is configured: it brings in SQLAlchemy.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.engine import URL

from pytest_green_light import upstream
from pytest_green_light.database import sqlite
from pytest_green_light.database.driver_errors import driver_message
from pytest_green_light.database.postgresql import (
    check_server,
    require_worker_names_fit,
)
from pytest_green_light.database.url import is_memory, masked, parse_database_url
from pytest_green_light.database.worker_database import WorkerDatabase, run_privately
from pytest_green_light.process_role import worker_id

OUTPUT_KEY = "green_light_database"
"""Where an xdist worker tells the controller what became of its database: dropped,
``kept`` (its URL, masked) or ``left`` behind (why)."""
LEFT_BEHIND = (
    "green-light: could not drop the database(s) it created, left behind: {left}. "
    "Drop them by hand, or run again: a run replaces its workers' leftovers."
)


class DatabaseHooks:
    """Registered in every process of a run with a database URL. ``worker_database``
    is None in the xdist controller, which runs no tests."""

    def __init__(
        self,
        url: URL,
        worker_database: WorkerDatabase | None,
        *,
        per_worker: bool,
        keep: bool,
    ) -> None:
        self.url = url
        self.worker_database = worker_database
        self.per_worker = per_worker
        self.keep = keep
        self.kept: list[str] = []
        self.left: list[str] = []  # "<database>: <why>"
        # In the controller: every worker started, and those that said what became
        # of their database (the others are dropped here at the end).
        self.workers: set[str] = set()
        self.settled: set[str] = set()

    def pytest_report_header(self) -> str:
        line = f"green-light database: {masked(self.url)}"
        if self.per_worker and not is_memory(self.url):
            line += f", one per worker ({self.url.database} + _gw0, _gw1...)"
        return line + (", kept after the run" if self.keep else "")

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """Create this worker's database; in the xdist controller, check the server
        first, so that a bad URL is one clear error rather than one per worker."""
        if not runs_tests(session.config):
            return
        if self.worker_database is None:
            require_worker_names_fit(self.url, _highest_worker_number(session.config))
            if self.url.get_backend_name() == "sqlite":
                if not is_memory(self.url) and _workers_are_local(session.config):
                    sqlite.require_directory(str(self.url.database))
            else:
                run_privately(check_server(self.url))
            return
        try:
            run_privately(self.worker_database.set_up())
        except pytest.UsageError as error:
            if not self.worker_database.own_copy:  # no xdist: one error, run stops
                raise
            session.config.pluginmanager.register(FailedSetUp(str(error)))

    # trylast: after pytest's own teardown of session fixtures that use the database
    # (and, in the controller, after xdist's teardown of its workers).
    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if not runs_tests(session.config):
            return
        if self.worker_database is None:
            self._drop_unsettled_workers()
            return
        worker_database = self.worker_database
        outcome: dict[str, str] = {}
        try:
            run_privately(worker_database.tear_down())
        except Exception as error:  # a server gone: the report must stand as it is
            outcome["left"] = _left_behind(worker_database, error)
        else:
            if self.keep and worker_database.created:
                outcome["kept"] = masked(worker_database.url)
        workeroutput = getattr(session.config, "workeroutput", None)
        if workeroutput is not None:  # for the controller to list
            workeroutput[OUTPUT_KEY] = outcome
        else:
            self._settle(outcome)

    def _settle(self, outcome: dict[str, str]) -> None:
        if "kept" in outcome:
            self.kept.append(outcome["kept"])
        if "left" in outcome:
            self.left.append(outcome["left"])

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        self.workers.add(str(node.gateway.id))

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any) -> None:
        outcome = getattr(node, "workeroutput", {}).get(OUTPUT_KEY)
        if outcome is not None:
            self.settled.add(str(node.gateway.id))
            self._settle(outcome)

    def _drop_unsettled_workers(self) -> None:
        """A worker that crashed, or was stopped with the controller (Ctrl-C), did not
        drop its database: the controller does, on its way out."""
        if self.keep:
            return
        for worker in sorted(self.workers - self.settled):
            database = WorkerDatabase(self.url, worker, keep=False)
            try:
                run_privately(database.drop())
            except Exception as error:
                self.left.append(_left_behind(database, error))

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.kept:
            terminalreporter.write_line(
                "green-light: databases kept (--green-light-keep-db): "
                + ", ".join(sorted(self.kept))
            )
        if self.left:
            terminalreporter.write_line(
                LEFT_BEHIND.format(left="; ".join(sorted(self.left))), yellow=True
            )


def _left_behind(database: WorkerDatabase, error: BaseException) -> str:
    """``<database>: <why>``, the why in one line, the password masked."""
    why = (
        str(error).splitlines()[0]
        if isinstance(error, pytest.UsageError)
        else driver_message(error, database.url)
    )
    return f"{masked(database.url)} ({why})"


# Options of runs that list or plan tests without running any (IDE test discovery):
# they touch no database. (--setup-only runs fixtures, which may need it.)
NO_TEST_OPTIONS = ("collectonly", "setupplan", "showfixtures", "show_fixtures_per_test")


def runs_tests(config: pytest.Config) -> bool:
    return not any(config.getoption(name, False) for name in NO_TEST_OPTIONS)


class FailedSetUp:
    """Registered in an xdist worker whose database could not be set up: each of its
    tests fails with the reason, as with a broken session fixture. (Raising at session
    start would make xdist restart the worker, only for it to fail again.)"""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def pytest_runtest_setup(self) -> None:
        pytest.fail(self.reason, pytrace=False)


def _workers_are_local(config: pytest.Config) -> bool:
    """Whether every xdist worker runs on this machine (a remote worker's SQLite files
    are on its own disk, which the controller cannot look at)."""
    return all(
        str(spec).startswith("popen") for spec in config.getoption("tx", None) or ()
    )


def _highest_worker_number(config: pytest.Config) -> int:
    """The number of the last xdist worker a run may start: one per ``--tx`` (``-n``
    makes them), then as many replacements for crashed ones as xdist allows (no
    limit, with ``--tx`` alone: four per worker are checked)."""
    workers = len(config.getoption("tx", None) or ()) or 1
    restarts = upstream.max_worker_restarts(config)
    return workers - 1 + (4 * workers if restarts is None else restarts)


def configure(
    config: pytest.Config, raw_url: str, source: str, *, controller: bool, keep: bool
) -> WorkerDatabase | None:
    """Check the URL and register the hooks; this worker's database (None in the
    controller)."""
    url = parse_database_url(raw_url, source)
    worker_database = (
        None
        if controller
        else WorkerDatabase(
            url,
            worker_id(config),
            keep=keep,
            setup_hook=config.hook.pytest_green_light_setup_database,
        )
    )
    config.pluginmanager.register(
        DatabaseHooks(url, worker_database, per_worker=controller, keep=keep),
        "green_light_database",
    )
    return worker_database
