"""Workers on another host: ``--tx socket=HOST:PORT`` against execnet's socket server.

Two socket servers on loopback, each in a directory of its own, stand in for two
hosts. The controller's temporary directory is not theirs: the controller runs with
``$TMPDIR`` in a directory that the servers, started in a mount namespace of their own
(``unshare``), see as an empty tmpfs. The inner project is sent to them with
``--rsyncdir``.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from conftest import AS_GIVEN, Inner
from test_serial import SERIAL_TESTS, assert_serial_tests_ran_alone, intervals
from test_serial import make_project as make_serial_project

SERVER_STARTUP_TIMEOUT_S = 30


# Mounts an empty tmpfs over $0, then runs the rest of the command line.
HIDE_AND_RUN = 'mount -t tmpfs green-light-test "$0" && exec "$@"'


@contextmanager
def socket_server(directory: Path, hidden: Path) -> Iterator[str]:
    """execnet's socket server on a free loopback port, run in ``directory`` and
    seeing ``hidden`` empty; its ``HOST:PORT``."""
    log = directory / "server.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            [
                *("unshare", "--mount", "--propagation", "private"),
                *("sh", "-c", HIDE_AND_RUN, str(hidden)),
                *(sys.executable, "-u", "-m", "execnet.script.socketserver"),
                "127.0.0.1:0",
            ],
            cwd=directory,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + SERVER_STARTUP_TIMEOUT_S
        while not (
            found := re.search(
                r"Entering Accept loop \('[\d.]+', (\d+)\)", log.read_text()
            )
        ):
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        yield f"127.0.0.1:{found.group(1)}"
    finally:
        server.kill()
        server.wait()


@pytest.fixture
def hosts(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two working directories, outside the inner project (which is sent to them)."""
    return [tmp_path_factory.mktemp("host") for _ in range(2)]


@contextmanager
def two_hosts(
    inner: Inner, hosts: list[Path], monkeypatch: pytest.MonkeyPatch
) -> Iterator[list[str]]:
    """The arguments that send the inner project to two remote workers; the
    controller's temporary directory is one they cannot see."""
    hidden = inner.pytester.path.parent / f"{inner.pytester.path.name}-controller-tmp"
    hidden.mkdir()
    monkeypatch.setenv("TMPDIR", str(hidden))
    with (
        socket_server(hosts[0], hidden) as first,
        socket_server(hosts[1], hidden) as second,
    ):
        yield [
            *("--dist", "load", "--tx", f"socket={first}", "--tx", f"socket={second}"),
            *("--rsyncdir", str(inner.pytester.path)),
        ]


def test_serial_tests_run_alone_on_remote_workers(
    inner: Inner, hosts: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    inner.distribution = AS_GIVEN
    inner.pytester.makeini("[pytest]\n")  # xdist deprecates --rsyncdir: a warning
    make_serial_project(inner)

    with two_hosts(inner, hosts, monkeypatch) as remote:
        result = inner.run(*remote)

    result.assert_outcomes(passed=30)
    result.stdout.fnmatch_lines(
        ["green-light: 5 serial test(s) ran one at a time after the parallel tests*"]
    )
    runs = intervals(inner)
    assert len({r.test for r in runs}) == 30
    assert_serial_tests_ran_alone(runs, SERIAL_TESTS)


def test_per_worker_sqlite_databases_are_made_on_the_workers_side(
    inner: Inner, hosts: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    inner.distribution = AS_GIVEN
    inner.pytester.makeini("[pytest]\n")
    inner.pytester.makepyfile(
        test_db="""
        import os
        import pytest
        from sqlalchemy import text


        @pytest.mark.parametrize("n", range(4))
        @pytest.mark.asyncio
        async def test_query(green_light_session, green_light_db_url, n):
            assert await green_light_session.scalar(text("select 1")) == 1
            path = green_light_db_url.split("///", 1)[1]
            assert os.path.exists(path), (os.getcwd(), path)
        """
    )

    with two_hosts(inner, hosts, monkeypatch) as remote:
        result = inner.run(
            *remote,
            "--green-light-db-url=sqlite+aiosqlite:///app.db",
            "--green-light-keep-db",
        )

    result.assert_outcomes(passed=4)
    # Each worker's file is in its own host's directory, none in the controller's.
    assert not list(inner.pytester.path.glob("app*.db"))
    made = [sorted(p.name for p in host.glob("**/app_gw*.db")) for host in hosts]
    assert sorted(made) == [["app_gw0.db"], ["app_gw1.db"]], made
