"""The worker loop, in workers only (the xdist controller runs no tests and imports
none of this, nor does a worker whose code never uses asyncio: it stays on standby,
``pytest_green_light/standby.py``).

- ``loop.py``: the one loop a worker session runs on.
- ``lifecycle.py``: the worker's session on it, from start to finish, and each test's
  turn (a loop of its own with loop scope ``function``).
- ``tasks.py``: which test started which task, and what is done with tasks left running.
"""
