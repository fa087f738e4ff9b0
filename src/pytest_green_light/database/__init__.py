"""Per-worker databases, for runs with a database URL: the run's template set up once
(or reused), each worker's database a copy of it, created at session start and dropped
at the end (SQLite files, PostgreSQL, MySQL and MariaDB databases), and the fixtures on
it.

- ``run.py``: a run with a URL, hook by hook, in the controller and in each worker.
- ``fixture_values.py``: what ``green_light_engine`` and ``green_light_session`` hand out.
- ``template.py``: the run's template, built or reused; ``fingerprint.py`` says what
  it was built from.
- ``worker_database.py``: one worker's database from creation to drop;
  ``url.py`` names it; ``servers.py`` creates, copies and drops databases through
  ``postgresql.py``, ``mysql.py`` or ``sqlite.py``; ``driver_errors.py`` words what
  the driver said.

The hooks users implement are in ``pytest_green_light/hookspecs.py``. Nothing is
imported here: everything but ``fixture_values.py`` brings in SQLAlchemy, which runs without
a URL never need.
"""
