"""Which pytest process this is: a worker, or the xdist controller.

A *worker* is any process that runs tests: an xdist worker (``gw0``, ``gw1``…), or a
plain ``pytest`` run (``master``). The xdist controller runs no tests and owns no loop.
"""

from __future__ import annotations

import contextvars
from typing import Any

import pytest

MASTER = "master"
"""The worker id of a process that is not an xdist worker (as xdist names it)."""


def worker_id(config: pytest.Config) -> str:
    """``gw0``, ``gw1``… in an xdist worker, ``master`` otherwise: the one place the
    plugin reads which worker it runs in."""
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    return MASTER if workerinput is None else str(workerinput["workerid"])


def is_xdist_controller(config: pytest.Config) -> bool:
    """Whether xdist's distributed session runs here. ``--dist`` without ``-n`` or
    ``--tx`` runs tests in this process: a worker."""
    # No --dist (which -n and --tx imply): no distributed session, asked without
    # the upstream module's import.
    if worker_id(config) != MASTER or config.getoption("dist", "no") == "no":
        return False
    from pytest_green_light import upstream

    return upstream.is_xdist_controller(config)


session_worker_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "pytest_green_light_session_worker_id", default=None
)
"""The worker id of the pytest session configured here (innermost, when pytester runs
nest); ``None`` before one is configured."""
