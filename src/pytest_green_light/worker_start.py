"""A worker's lifecycle started, with whoever drives its async tests.

Imported when the worker starts using asyncio (at configure time, or when the worker
on standby wakes up): it brings in asyncio, which the xdist controller and a worker on
standby never need.
"""

from __future__ import annotations

import pytest

from pytest_green_light.process_role import worker_id
from pytest_green_light.promise import PromiseCheck
from pytest_green_light.settings import Settings
from pytest_green_light.sync_io.greenlet_bridge import SyncIO, TestCode
from pytest_green_light.worker_loop.lifecycle import WorkerLifecycle


def start_lifecycle(
    config: pytest.Config, plugin_settings: Settings, with_pytest_asyncio: bool
) -> WorkerLifecycle:
    """The worker's lifecycle, registered, with whoever drives its async tests:
    pytest-asyncio brought onto the worker loop, or the plugin's own runner."""
    sync_io = SyncIO(plugin_settings.sync_io, TestCode(config.getini("python_files")))
    worker_lifecycle = WorkerLifecycle(
        plugin_settings, sync_io, worker_id=worker_id(config)
    )
    config.pluginmanager.register(worker_lifecycle, "green_light_lifecycle")
    if with_pytest_asyncio:
        from pytest_green_light.with_pytest_asyncio import loop_policy

        loop_policy.bridge_pytest_asyncio(config, worker_lifecycle)
    else:
        from pytest_green_light.async_runner import GreenLightRunner

        runner = GreenLightRunner(worker_lifecycle, config.pluginmanager)
        config.pluginmanager.register(runner, "green_light_runner")
        if plugin_settings.loop_scope == "session":
            worker_lifecycle.promise = PromiseCheck(
                config.pluginmanager, ("Python", None), None
            )
    return worker_lifecycle
