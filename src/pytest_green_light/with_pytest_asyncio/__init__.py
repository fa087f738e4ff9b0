"""Working with pytest-asyncio, when it is installed and on.

- ``installed.py``: its version (0.24 or later), whether it is on, its mode.
- ``loop_scopes.py``: its loop-scope defaults and markers lined up with the plugin's
  loop scope, at configure and collection time (the controller too).
- ``loop_policy.py``: the worker loop handed to its session-long runner (workers only).
- ``session_anchor.py``: the fixture that makes it build that runner first.
- ``strict_mode.py``: help where strict mode left an async test or fixture to pytest.

Without pytest-asyncio, ``async_runner.py`` runs async tests and fixtures.
"""
