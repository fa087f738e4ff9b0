"""The worker loop, in workers only (the xdist controller runs no tests and imports
none of this; a worker that never uses asyncio, only ``standby.py``).

- ``loop.py``: the one loop a worker session runs on.
- ``lifecycle.py``: the worker's session on it, from start to finish, and each test's
  turn (a loop of its own with loop scope ``function``).
- ``tasks.py``: which test started which task, and what is done with tasks left running.
- ``standby.py``: a worker whose code has not used asyncio yet, until it does (imports
  no asyncio).
"""
