"""Per-worker databases, for runs with a database URL: each worker's database created at
session start and dropped at the end (SQLite files and PostgreSQL databases), and the
fixtures on it.

- ``hookspecs.py``: the ``pytest_green_light_setup_database`` hook users implement.
- ``hooks.py``: the hooks of a run with a URL, in the controller and in each worker.
- ``fixtures.py``: what ``green_light_engine`` and ``green_light_session`` hand out.
- ``worker_database.py``: one worker's database from creation to drop;
  ``url.py`` names it, ``postgresql.py`` and ``sqlite.py`` create and drop it,
  ``driver_errors.py`` words what the driver said.

Nothing is imported here: everything but ``hookspecs.py`` and ``fixtures.py`` brings in
SQLAlchemy, which runs without a URL never need.
"""
