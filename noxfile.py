"""The version matrix: `nox -s matrix` runs the test suite once per cell below.

Each cell with pytest-asyncio covers its strict and auto modes (the tests are
parametrized over both, and over the plugin's own runner with pytest-asyncio disabled).
"""

from __future__ import annotations

from typing import NamedTuple

import nox

nox.options.default_venv_backend = "uv"
nox.options.sessions = ["matrix"]


class Cell(NamedTuple):
    python: str
    pytest: str
    pytest_asyncio: str | None  # None: not installed
    xdist: str
    sqlalchemy: str

    @property
    def id(self) -> str:
        asyncio = (
            f"asyncio{self.pytest_asyncio}" if self.pytest_asyncio else "no-asyncio"
        )
        return f"py{self.python}-pytest{self.pytest}-{asyncio}-xdist{self.xdist}-sa{self.sqlalchemy}"


LATEST = "latest"

# A covering subset: every pytest-asyncio line (none, 0.26, 1.0, 1.3, latest), both
# pytest majors, xdist 3.5 (tests in a non-main thread) and latest, SQLAlchemy 2.0 and
# 2.1, Python 3.9-3.13. pytest-asyncio < 1.3 requires pytest < 9; SQLAlchemy 2.1 and
# pytest 9 require newer Pythons.
CELLS = [
    Cell("3.9", "8.4", None, "3.5", "2.0"),
    Cell("3.9", "8.4", "0.26", LATEST, "2.0"),
    Cell("3.10", "8.4", "1.0", "3.5", "2.0"),
    Cell("3.11", "8.4", LATEST, "3.5", "2.0"),
    Cell("3.11", "9", "1.3", LATEST, "2.1"),
    Cell("3.12", "9", None, LATEST, "2.1"),
    Cell("3.12", "9", LATEST, LATEST, "2.1"),
    Cell("3.13", "9", LATEST, "3.5", "2.1"),
]


def _pin(name: str, version: str | None) -> str:
    return name if version in (None, LATEST) else f"{name}=={version}.*"


@nox.session
@nox.parametrize(
    ("python", "cell"),
    [(cell.python, cell) for cell in CELLS],
    ids=[c.id for c in CELLS],
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
    session.run("python", "-m", "pytest", "-n", "2", *session.posargs)
