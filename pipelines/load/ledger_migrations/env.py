"""Alembic's entry point: migrate on the connection the ledger passes in (online only).

The ledger opens the transaction and takes the migration lock before alembic runs, so alembic
joins that transaction instead of starting its own: the check, the stamp and the upgrade are one.
"""

from __future__ import annotations

from alembic import context

if context.is_offline_mode():
    raise RuntimeError("the ledger's migrations run online only, through pipelines.load.ledger")

context.configure(connection=context.config.attributes["connection"], target_metadata=None)
with context.begin_transaction():
    context.run_migrations()
