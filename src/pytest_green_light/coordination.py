"""Bringing pytest-asyncio onto the worker loop."""

from __future__ import annotations

from importlib.metadata import version

import pytest

from pytest_green_light.lifecycle import WorkerLifecycle


def has_pytest_asyncio(config: pytest.Config) -> bool:
    return config.pluginmanager.has_plugin("asyncio")


def describe_driver(config: pytest.Config) -> str:
    if not has_pytest_asyncio(config):
        return "green-light"
    mode = config.getoption("asyncio_mode", None) or config.getini("asyncio_mode")
    return f"pytest-asyncio {version('pytest-asyncio')} ({mode} mode)"


def configure(config: pytest.Config, lifecycle: WorkerLifecycle) -> None:
    """Line pytest-asyncio's loop scopes up with ours and hand it the worker loop."""
