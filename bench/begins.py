"""Counting the transactions asyncpg opens (the BEGINs it sends), for the tests' round-trip
checks and the benches.

`count_begins()` wraps `asyncpg.transaction.Transaction.start`, through which SQLAlchemy's
asyncpg dialect (and its ping) opens every transaction, while the block runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg


class Begins:
    """How many BEGINs were sent since the count began (`count`); `reset()` starts again."""

    def __init__(self) -> None:
        self.count = 0

    def reset(self) -> None:
        self.count = 0


@contextmanager
def count_begins() -> Iterator[Begins]:
    """Count every transaction asyncpg starts in this process while the block runs."""
    begins = Begins()
    start = asyncpg.transaction.Transaction.start

    async def counted(transaction: asyncpg.transaction.Transaction) -> None:
        begins.count += 1
        await start(transaction)

    asyncpg.transaction.Transaction.start = counted  # type: ignore[method-assign]
    try:
        yield begins
    finally:
        asyncpg.transaction.Transaction.start = start  # type: ignore[method-assign]
