"""What an import changed, per kind of row: printed by the CLI, asserted by the tests."""

from __future__ import annotations

from dataclasses import dataclass, field

KINDS = (
    "services",
    "locations",
    "location_hours",
    "holidays",
    "workplaces",
    "workplace_services",
    "specialists",
    "specialist_services",
    "specialist_schedules",
    "breaks",
)


@dataclass
class KindCounts:
    created: int = 0
    updated: int = 0
    deactivated: int = 0
    deleted: int = 0

    @property
    def total(self) -> int:
        return self.created + self.updated + self.deactivated + self.deleted


@dataclass
class ImportSummary:
    """What an import changed, per kind of row (reactivating a row counts as updated)."""

    counts: dict[str, KindCounts] = field(default_factory=lambda: {k: KindCounts() for k in KINDS})

    @property
    def changes(self) -> int:
        return sum(c.total for c in self.counts.values())

    def lines(self) -> list[str]:
        if not self.changes:
            return ["no changes: the database already matches the file"]
        out = []
        for kind, c in self.counts.items():
            if c.total:
                parts = [
                    f"{n} {label}"
                    for n, label in (
                        (c.created, "created"),
                        (c.updated, "updated"),
                        (c.deactivated, "deactivated"),
                        (c.deleted, "deleted"),
                    )
                    if n
                ]
                out.append(f"{kind}: " + ", ".join(parts))
        return out
