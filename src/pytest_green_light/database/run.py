"""A run with a database URL, hook by hook: the run's template, built (or reused) by
the xdist controller before any worker starts and handed to the workers; each worker's
database from session start to finish; the header and summary.

Imported only when a URL is configured: it brings in SQLAlchemy.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from sqlalchemy.engine import URL

from pytest_green_light import upstream
from pytest_green_light.database import sqlite
from pytest_green_light.database.driver_errors import driver_message
from pytest_green_light.database.fingerprint import fingerprint, shown
from pytest_green_light.database.servers import check_server
from pytest_green_light.database.template import Template
from pytest_green_light.database.url import (
    is_memory,
    masked,
    parse_database_url,
    require_worker_names_fit,
)
from pytest_green_light.database.worker_database import WorkerDatabase, run_privately
from pytest_green_light.process_role import MASTER, worker_id
from pytest_green_light.settings import Settings

OUTPUT_KEY = "green_light_database"
"""Where an xdist worker tells the controller what became of its database: dropped,
``kept`` (its URL, masked) or ``left`` behind (why), and the ``seconds`` its copy of the
template took."""
# Where a copy of a set-up costs about what the set-up does (MySQL and MariaDB copy
# table by table: benchmarks/RESULTS.md, row 10): workers run the hook themselves,
# unless a stored template is reused.
PER_WORKER_BACKENDS = frozenset({"mysql"})
TEMPLATE_KEY = "green_light_template"
"""Where the controller tells each worker (``workerinput``) the template to copy."""
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
        template: Template | None,
        *,
        source: str,
        per_worker: bool,
        keep: bool,
    ) -> None:
        self.url = url
        self.source = source  # where the URL came from
        self.worker_database = worker_database
        self.template = template  # where this process builds or reuses it
        self.per_worker = per_worker
        self.keep = keep
        self.copy_seconds: list[float] = []  # the workers' copies of the template
        self.kept: list[str] = []
        self.left: list[str] = []  # "<database>: <why>"
        # In the controller: every worker started, and those that said what became
        # of their database (the others are dropped here at the end).
        self.workers: set[str] = set()
        self.settled: set[str] = set()

    def pytest_report_header(self) -> str:
        line = f"green-light database: {masked(self.url)} ({self.source})"
        if self.per_worker and not is_memory(self.url):
            line += f", one per worker ({self.url.database} + _gw0, _gw1...)"
        template = self.template
        if template is not None and template.built:
            line += f"; {_template_line(template)}"
        elif self.per_worker and self.url.get_backend_name() in PER_WORKER_BACKENDS:
            line += (
                "; each set up by the hook (a copy would cost as much on MySQL and "
                "MariaDB; --green-light-reuse-db copies a stored one)"
            )
        return line + (", kept after the run" if self.keep else "")

    # tryfirst: in the controller, before xdist starts the workers that copy it.
    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """Build (or reuse) the template, then create this worker's database; the
        xdist controller checks first, so that a bad URL is one clear error rather
        than one per worker."""
        if not runs_tests(session.config):
            return
        if self.per_worker:
            require_worker_names_fit(self.url, _highest_worker_number(session.config))
            if self.url.get_backend_name() == "sqlite" and self.template is not None:
                sqlite.require_directory(str(self.url.database))
        try:
            if self.template is not None:
                run_privately(self.template.prepare())
            elif self.per_worker and self.url.get_backend_name() in PER_WORKER_BACKENDS:
                run_privately(check_server(self.url))
        except Exception as error:
            raise _for_the_user(error, self.url) from None
        if self.worker_database is None:
            return
        if self.template is not None and self.template.not_copied is None:
            self.worker_database.template = self.template.name
        try:
            run_privately(self.worker_database.set_up())
        except Exception as error:
            usage_error = _for_the_user(error, self.worker_database.url)
            if not self.worker_database.own_copy:  # no xdist: one error, run stops
                raise usage_error from None
            session.config.pluginmanager.register(FailedSetUp(str(usage_error)))

    # trylast: after pytest's own teardown of session fixtures that use the database
    # (and, in the controller, after xdist's teardown of its workers).
    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if not runs_tests(session.config):
            return
        if self.worker_database is None:
            self._drop_unsettled_workers()
        else:
            self._tear_down(session.config, self.worker_database)
        if self.template is not None and self.template.built:
            self._drop_template(self.template)

    def _drop_template(self, template: Template) -> None:
        """Drop the template, unless it is kept for the next run (reuse: not listed)
        or to be looked at (--green-light-keep-db: listed)."""
        if template.reuse:
            return
        if self.keep:
            self.kept.append(masked(template.url))
            return
        try:
            run_privately(template.drop())
        except Exception as error:
            self.left.append(_left_behind(template.url, error))

    def _tear_down(
        self, config: pytest.Config, worker_database: WorkerDatabase
    ) -> None:
        outcome: dict[str, Any] = {}
        if worker_database.template is not None:
            outcome["seconds"] = worker_database.seconds
        try:
            run_privately(worker_database.tear_down())
        except Exception as error:  # a server gone: the report must stand as it is
            outcome["left"] = _left_behind(worker_database.url, error)
        else:
            if self.keep and worker_database.created:
                outcome["kept"] = masked(worker_database.url)
        workeroutput = getattr(config, "workeroutput", None)
        if workeroutput is not None:  # for the controller to list
            workeroutput[OUTPUT_KEY] = outcome
        else:
            self._settle(outcome)

    def _settle(self, outcome: dict[str, Any]) -> None:
        if "seconds" in outcome:
            self.copy_seconds.append(float(outcome["seconds"]))
        if "kept" in outcome:
            self.kept.append(outcome["kept"])
        if "left" in outcome:
            self.left.append(outcome["left"])

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        self.workers.add(str(node.gateway.id))
        template = self.template
        if template is not None and template.built and template.not_copied is None:
            node.workerinput[TEMPLATE_KEY] = template.name

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
                self.left.append(_left_behind(database.url, error))

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        template = self.template
        if template is not None and self.copy_seconds:
            terminalreporter.write_line(
                f"green-light database: {_template_line(template)}, copied to "
                f"{len(self.copy_seconds)} worker(s) in {max(self.copy_seconds):.2f} s"
            )
        if self.kept:
            terminalreporter.write_line(
                "green-light: databases kept (--green-light-keep-db): "
                + ", ".join(sorted(self.kept))
            )
        if self.left:
            terminalreporter.write_line(
                LEFT_BEHIND.format(left="; ".join(sorted(self.left))), yellow=True
            )


def _template_line(template: Template) -> str:
    """How the run's template came about: ``built once in 0.31 s`` or ``reused
    (fingerprint 3f2a9c1e)``, and why it is not copied, where it is not."""
    name = os.path.basename(template.name)
    line = (
        f"template {name} reused (fingerprint {shown(template.fingerprint or '')})"
        if template.reused
        else f"template {name} built once in {template.seconds:.2f} s"
    )
    if template.not_copied is not None:
        line += (
            f", not copied: it holds {template.not_copied}, which a copy would lose, "
            "so each worker's database is set up by the hook"
        )
    return line


def _for_the_user(error: Exception, url: URL) -> pytest.UsageError:
    """A usage error as it is; what the server or driver said, as one."""
    if isinstance(error, pytest.UsageError):
        return error
    return pytest.UsageError(
        f"pytest-green-light could not set up the database {masked(url)}: "
        f"{driver_message(error, url)}"
    )


def _left_behind(url: URL, error: BaseException) -> str:
    """``<database> (<why>)``, the why in one line, the password masked."""
    why = (
        str(error).splitlines()[0]
        if isinstance(error, pytest.UsageError)
        else driver_message(error, url)
    )
    return f"{masked(url)} ({why})"


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


def start_databases(
    config: pytest.Config, settings: Settings, *, controller: bool
) -> WorkerDatabase | None:
    """Check the URL and register the hooks; this worker's database (None in the
    controller)."""
    assert settings.db_url is not None
    url = parse_database_url(settings.db_url, settings.db_url_source)
    # The template: built by the controller for its workers, or by a run without
    # xdist that keeps it; not for in-memory databases, nor for SQLite files on
    # remote workers' disks; on MySQL only to be kept (a copy costs what a set-up does).
    this_worker = worker_id(config)
    builds_template = (
        controller or (settings.reuse_db and this_worker == MASTER)
    ) and not (
        is_memory(url)
        or (url.get_backend_name() == "sqlite" and not _workers_are_local(config))
        or (url.get_backend_name() in PER_WORKER_BACKENDS and not settings.reuse_db)
    )
    template = (
        Template(
            url,
            config.hook.pytest_green_light_setup_database,
            reuse=settings.reuse_db,
            rebuild=settings.create_db,
            fingerprint=lambda: fingerprint(config, url),
        )
        if builds_template
        else None
    )
    worker_database = (
        None
        if controller
        else WorkerDatabase(
            url,
            this_worker,
            keep=settings.keep_db,
            setup_hook=config.hook.pytest_green_light_setup_database,
            template=getattr(config, "workerinput", {}).get(TEMPLATE_KEY),
        )
    )
    config.pluginmanager.register(
        DatabaseHooks(
            url,
            worker_database,
            template,
            source=settings.sources["db_url"],
            per_worker=controller,
            keep=settings.keep_db,
        ),
        "green_light_database",
    )
    return worker_database
