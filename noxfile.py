"""The version matrix: `nox -s matrix` runs the `compat` tests once per cell below.

`scripts/test` runs the whole suite once, on the newest versions; a cell re-runs only the
tests marked `compat` (the behaviour that depends on the versions installed), which are
parametrized over pytest-asyncio's strict and auto modes and the plugin's own runner.

`.ci/run` runs the cells tagged `ci` (`nox -t ci`): between them they carry the oldest
and newest supported version of every dependency. The GitHub workflow runs them all.

`nox -s canary` runs the same tests against the newest pre-releases of everything the
plugin relies on (weekly in GitHub Actions, never in `.ci/run`, which stays
deterministic): a contract test that fails there names the upstream assumption that
will no longer hold (`tests/test_upstream_contract.py`).
"""

from __future__ import annotations

from typing import NamedTuple

import nox

nox.options.default_venv_backend = "uv"
nox.options.sessions = ["matrix", "unsupported_pytest_asyncio", "docs"]


class Cell(NamedTuple):
    python: str
    pytest: str
    pytest_asyncio: str | None  # None: not installed
    xdist: str
    sqlalchemy: str
    ci: bool = False  # also run by .ci/run

    @property
    def id(self) -> str:
        asyncio = (
            f"asyncio{self.pytest_asyncio}" if self.pytest_asyncio else "no-asyncio"
        )
        return f"py{self.python}-pytest{self.pytest}-{asyncio}-xdist{self.xdist}-sa{self.sqlalchemy}"


LATEST = "latest"

# A covering subset: the declared lower bounds (Python 3.9, pytest 8.2, pytest-asyncio
# 0.24, xdist 3.5, SQLAlchemy 2.0.31) in one cell and the newest of everything in
# another; every pytest-asyncio line (none, 0.24, 0.26, 1.0, 1.3, latest; 0.26 is the
# last with the event_loop fixture and the first with a test default); both pytest majors;
# xdist 3.5 (tests in a non-main thread) and latest; SQLAlchemy 2.0 and 2.1; Python
# 3.9-3.13. pytest-asyncio < 1.3 requires pytest < 9; SQLAlchemy 2.1 and pytest 9
# require newer Pythons.
CELLS = [
    Cell("3.9", "8.2", "0.24", "3.5", "2.0.31", ci=True),
    Cell("3.9", "8.4", None, "3.5", "2.0"),
    Cell("3.10", "8.4", "0.26", LATEST, "2.0", ci=True),
    Cell("3.10", "8.4", "1.0", "3.5", "2.0", ci=True),
    Cell("3.11", "8.4", LATEST, "3.5", "2.0"),
    Cell("3.11", "9", "1.3", LATEST, "2.1"),
    Cell("3.12", "9", None, LATEST, "2.1", ci=True),
    Cell("3.12", "9", LATEST, LATEST, "2.1"),
    Cell("3.13", "9", LATEST, "3.5", "2.1"),
    Cell("3.13", "9", LATEST, LATEST, "2.1", ci=True),
]


def _pin(name: str, version: str | None) -> str:
    return name if version in (None, LATEST) else f"{name}=={version}.*"


@nox.session
@nox.parametrize(
    ("python", "cell"),
    [(cell.python, cell) for cell in CELLS],
    ids=[cell.id for cell in CELLS],
    tags=[["ci"] if cell.ci else [] for cell in CELLS],
)
def matrix(session: nox.Session, cell: Cell) -> None:
    packages = [
        _pin("pytest", cell.pytest),
        _pin("pytest-xdist", cell.xdist),
        _pin("sqlalchemy", cell.sqlalchemy),
        "-e",
        ".[test]",
    ]
    if cell.pytest_asyncio:
        packages.append(_pin("pytest-asyncio", cell.pytest_asyncio))
    if cell.xdist == "3.5":
        # The execnet of xdist 3.5's day: with it, `--tx popen//env:...` workers run
        # tests in a non-main thread (Dummy-1), which the tests must see.
        packages.append("execnet<2.1")
    session.install(*packages)
    session.run("python", "-m", "pytest", "-n", "2", "-m", "compat", *session.posargs)


@nox.session(python="3.13", tags=["ci"])
def combinations(session: nox.Session) -> None:
    """The less usual combinations of tests that do not depend on the versions
    installed (every_combination, not compat), once, on the newest versions; the
    docs session runs those of the docs tests."""
    session.install("-e", ".[test]", "pytest-asyncio")
    session.run(
        "python",
        "-m",
        "pytest",
        "-n",
        "2",
        "-m",
        "every_combination and not compat",
        "--ignore=tests/test_docs.py",
        *session.posargs,
    )


@nox.session(python="3.11", tags=["ci"])
def unsupported_pytest_asyncio(session: nox.Session) -> None:
    """pytest-asyncio 0.23, below the supported range: the run stops with one line.

    The outer run goes without the plugin, which would stop it too.
    """
    session.install("pytest-asyncio==0.23.*", "-e", ".[test]")
    session.run(
        "python",
        "-m",
        "pytest",
        "-p",
        "no:green_light",
        "tests/test_unsupported_pytest_asyncio.py",
        *session.posargs,
    )


@nox.session(python="3.11", tags=["ci"])
def docs(session: nox.Session) -> None:
    """Every example of README.md and docs/ in every mode it claims, with and without
    xdist, in a virtualenv with only the published extras a user installs (plus
    pytest-timeout, which the outer run's configuration names, and alembic, which the
    alembic example of docs/databases.md uses as its project would)."""
    session.install("-e", ".[xdist,asyncio,sqlite]", "pytest-timeout", "alembic")
    session.run(
        "python", "-m", "pytest", "-n", "2", "tests/test_docs.py", *session.posargs
    )


# What the plugin relies on beyond documented interfaces lives in these (upstream.py).
CANARY_PACKAGES = (
    "pytest",
    "pytest-asyncio",
    "pytest-xdist",
    "execnet",
    "sqlalchemy",
    "greenlet",
    "anyio",
)


@nox.session(python="3.13")
def canary(session: nox.Session) -> None:
    """The contract tests and the compat subset against the newest pre-releases (the
    newest releases where none is newer) of what the plugin relies on."""
    session.install("-e", ".[test]")
    session.install("--pre", "--upgrade", *CANARY_PACKAGES)
    # Which versions were tested, for the report of a failure.
    session.run("uv", "pip", "list", external=True, silent=False)
    session.run("python", "-m", "pytest", "-n", "2", "-m", "compat", *session.posargs)
