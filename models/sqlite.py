"""SQLite whose transactions take the write lock when they begin (``BEGIN IMMEDIATE``).

With SQLite's default ``BEGIN`` the write lock is taken at the first write; if another
process wrote since the transaction's first read, SQLite fails it at once with
"database is locked", whatever the busy timeout. Taking the lock up front makes a second
process wait its turn instead, so ``fourway serve``, ``worker`` and ``sweep`` can share
one SQLite file. Tortoise names this module as the connection's engine.
"""

from __future__ import annotations

import sqlite3

from tortoise.backends.base.client import TransactionContext
from tortoise.backends.sqlite.client import (
    SqliteClient,
    SqliteTransactionContext,
    SqliteTransactionWrapper,
)
from tortoise.exceptions import TransactionManagementError


class _ImmediateTransaction(SqliteTransactionWrapper):
    async def begin(self) -> None:
        try:
            await self._connection.commit()
            await self._connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise TransactionManagementError(exc) from exc


class ImmediateSqliteClient(SqliteClient):
    def _in_transaction(self) -> TransactionContext:
        return SqliteTransactionContext(_ImmediateTransaction(self), self._lock)


client_class = ImmediateSqliteClient
