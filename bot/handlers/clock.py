"""The handlers' clock: the dispatcher's `clock` (tests pin it), else the wall clock."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def now_from(data: dict[str, Any]) -> datetime:
    """The dispatcher's clock (tests pin it), else the wall clock."""
    clock = data.get("clock")
    return clock() if callable(clock) else datetime.now(UTC)
