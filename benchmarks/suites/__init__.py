"""The test suites the benchmarks run, written to a work directory on demand."""

from __future__ import annotations

from .engines import database_suite, per_test_engine, shared_engine, soak
from .relationships import fastapi_app, models
from .simple import logging_suite, one_test, plain_one_test, serial_mix, trivial_sync

__all__ = [
    "database_suite",
    "fastapi_app",
    "logging_suite",
    "models",
    "one_test",
    "per_test_engine",
    "plain_one_test",
    "serial_mix",
    "shared_engine",
    "soak",
    "trivial_sync",
]
