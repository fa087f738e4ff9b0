"""A tiny async SQLAlchemy application: the code under test in this example suite."""
