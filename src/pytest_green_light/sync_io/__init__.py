"""Sync IO in tests: ``greenlet_bridge.py`` runs test tasks inside a greenlet
SQLAlchemy accepts, and ``call_site.py`` decides, for ``sync_io = test``, whether the
code that asked may do sync IO."""
