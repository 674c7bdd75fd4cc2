"""Every storage test runs on SQLite and on PostgreSQL: the ``db`` fixture
(tests/support/databases.py) is parametrised over both."""
