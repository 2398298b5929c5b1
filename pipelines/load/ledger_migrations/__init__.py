"""The ledger's schema history as alembic migrations, run by `pipelines.load.ledger.Ledger` on open.

No alembic.ini: the ledger builds its alembic config in code and hands over its own connection
(which holds the migration lock), so the URL, and any password in it, never reaches a file or log.
"""
