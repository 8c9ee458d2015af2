"""Validation of a whole catalog file, collecting every problem before anything is written.

Each entry is validated on its own, so one broken entry does not hide the problems of the
others; then references between entries (services, locations, workplaces by name) and
duplicates are checked. Every message names the entry and the field, e.g.
`specialists[2] "Анна": schedule[0].workplace: "Кресло 9" is not a workplace of location "Центр"`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError, field_validator

from bot.catalog.schema import (
    FORMAT_VERSION,
    FROM_FILE,
    WEEKDAYS,
    CatalogFile,
    LocationEntry,
    ServiceEntry,
    SpecialistEntry,
    check_version,
)

SECTIONS = ("services", "locations", "specialists")
_ENTRY_TYPES: dict[str, TypeAdapter[Any]] = {
    "locations": TypeAdapter(LocationEntry),
    "services": TypeAdapter(ServiceEntry),
    "specialists": TypeAdapter(SpecialistEntry),
}
_MESSAGES = {
    "extra_forbidden": "unknown field (check the spelling)",
    "missing": "is required",
}


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem in the file: which entry, which field inside it, and what is wrong."""

    where: str
    field: str
    message: str
    # (section number, entry index): issues are reported in file order.
    order: tuple[int, int] = (0, 0)

    def __str__(self) -> str:
        if self.field:
            return f"{self.where}: {self.field}: {self.message}"
        return f"{self.where}: {self.message}"


class CatalogError(Exception):
    """The file is not a valid catalog; `issues` lists every problem found."""

    def __init__(self, issues: Sequence[Issue | str]) -> None:
        self.issues = [str(i) for i in issues]
        super().__init__("\n".join(self.issues))


class _Shell(BaseModel):
    # The top level only: entries are validated one by one afterwards.
    model_config = ConfigDict(extra="forbid")

    version: int = FORMAT_VERSION
    services: list[Any] = []
    locations: list[Any] = []
    specialists: list[Any] = []

    _version = field_validator("version")(check_version)


def _raw_name(raw: object) -> str | None:
    if isinstance(raw, dict):
        name = raw.get("name")
        if isinstance(name, str) and name.strip():
            return name.strip()
    return None


def _entry_label(section: str, index: int, raw: object) -> str:
    name = _raw_name(raw)
    return f'{section}[{index}] "{name}"' if name else f"{section}[{index}]"


def render_path(raw: object, loc: Iterable[str | int]) -> str:
    """`('workplaces', 1, 'services', 0)` -> `workplaces[1] "Кресло 9".services[0]`."""
    out = ""
    node: Any = raw
    for part in loc:
        if part == "[key]":
            continue
        if isinstance(part, int) and not isinstance(node, dict):
            out += f"[{part}]"
            node = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
            name = _raw_name(node)
            if name:
                out += f' "{name}"'
        else:
            out += f".{part}" if out else str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return out


def _pydantic_issues(
    exc: ValidationError, raw: object, where: str, order: tuple[int, int]
) -> list[Issue]:
    issues = []
    for err in exc.errors():
        message = _MESSAGES.get(err["type"], err["msg"])
        message = message.removeprefix("Value error, ")
        issues.append(Issue(where, render_path(raw, err["loc"]), message, order))
    return issues


def parse_catalog(data: object) -> CatalogFile:
    """Validate a loaded YAML document; raise `CatalogError` listing every problem."""
    if data is None:
        raise CatalogError([Issue("file", "", "is empty")])
    if not isinstance(data, dict):
        raise CatalogError(
            [Issue("file", "", "expected a mapping with locations, services and specialists")]
        )
    issues: list[Issue] = []
    try:
        shell = _Shell.model_validate(data)
    except ValidationError as exc:
        issues.extend(_pydantic_issues(exc, data, "file", (-1, 0)))
        # Still check the sections that are lists: one typo at the top hides nothing else.
        shell = _Shell.model_construct(
            **{s: data[s] for s in SECTIONS if isinstance(data.get(s), list)}
        )

    valid: dict[str, dict[int, Any]] = {s: {} for s in SECTIONS}
    for section_no, section in enumerate(SECTIONS):
        for index, raw in enumerate(getattr(shell, section)):
            where = _entry_label(section, index, raw)
            try:
                valid[section][index] = _ENTRY_TYPES[section].validate_python(
                    raw, context=FROM_FILE
                )
            except ValidationError as exc:
                issues.extend(_pydantic_issues(exc, raw, where, (section_no, index)))

    issues.extend(_ReferenceChecks(shell).run())
    if issues:
        issues.sort(key=lambda i: i.order)
        raise CatalogError(issues)
    return CatalogFile(
        version=shell.version,
        locations=list(valid["locations"].values()),
        services=list(valid["services"].values()),
        specialists=list(valid["specialists"].values()),
    )


def _items(raw: object, key: str) -> list[Any]:
    value = raw.get(key) if isinstance(raw, dict) else None
    return value if isinstance(value, list) else []


def _text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _link_service(raw: object) -> str | None:
    # A service link is a name, or a mapping with `service:` and overrides.
    return _text(raw.get("service") if isinstance(raw, dict) else raw)


def _weekday(raw: object) -> int | None:
    if isinstance(raw, str) and raw.strip().lower() in WEEKDAYS:
        return WEEKDAYS.index(raw.strip().lower()) + 1
    return None


class _ReferenceChecks:
    """Names that must exist, and names or keys that must be unique.

    These run on the raw document, next to the per-entry validation rather than after it, so
    an entry with a bad field still gets its references checked; values of the wrong shape are
    skipped here because the per-entry validation already reports them.
    """

    def __init__(self, shell: _Shell) -> None:
        self.shell = shell
        self.issues: list[Issue] = []
        self.service_names = {_raw_name(r) for r in shell.services} - {None}
        self.workplaces_of: dict[str, set[str]] = {}
        for raw in shell.locations:
            name = _raw_name(raw)
            if name is not None and name not in self.workplaces_of:
                self.workplaces_of[name] = {
                    n for n in (_raw_name(w) for w in _items(raw, "workplaces")) if n
                }

    def run(self) -> list[Issue]:
        for section in SECTIONS:
            self._unique_names(section)
        for index, raw in enumerate(self.shell.locations):
            self._location(index, raw)
        tg_ids: dict[object, int] = {}
        for index, raw in enumerate(self.shell.specialists):
            self._specialist(index, raw)
            tg_id = raw.get("tg_id") if isinstance(raw, dict) else None
            if isinstance(tg_id, int) and not isinstance(tg_id, bool):
                if tg_id in tg_ids:
                    self._add(
                        "specialists",
                        index,
                        ("tg_id",),
                        f"{tg_id} is already used by specialists[{tg_ids[tg_id]}]",
                    )
                else:
                    tg_ids[tg_id] = index
        return self.issues

    def _add(self, section: str, index: int, loc: tuple[str | int, ...], message: str) -> None:
        raw = getattr(self.shell, section)[index]
        where = _entry_label(section, index, raw)
        field = render_path(raw, loc)
        self.issues.append(Issue(where, field, message, (SECTIONS.index(section), index)))

    def _unique_names(self, section: str) -> None:
        seen: dict[str, int] = {}
        for index, raw in enumerate(getattr(self.shell, section)):
            name = _raw_name(raw)
            if name is None:
                continue
            if name in seen:
                self._add(
                    section,
                    index,
                    ("name",),
                    f'"{name}" is already used by {section}[{seen[name]}]',
                )
            else:
                seen[name] = index

    def _service_links(
        self, section: str, index: int, links: list[Any], loc: tuple[str | int, ...]
    ) -> None:
        seen: set[str] = set()
        for l_index, link in enumerate(links):
            name = _link_service(link)
            if name is None:
                continue
            where = (*loc, l_index, "service") if isinstance(link, dict) else (*loc, l_index)
            if name not in self.service_names:
                self._add(section, index, where, f'unknown service "{name}"')
            elif name in seen:
                self._add(section, index, where, f'"{name}" is listed twice')
            seen.add(name)

    def _location(self, index: int, raw: object) -> None:
        seen_workplaces: dict[str, int] = {}
        for w_index, workplace in enumerate(_items(raw, "workplaces")):
            name = _raw_name(workplace)
            if name is not None and name in seen_workplaces:
                self._add(
                    "locations",
                    index,
                    ("workplaces", w_index, "name"),
                    f'"{name}" is already used by workplaces[{seen_workplaces[name]}]',
                )
            elif name is not None:
                seen_workplaces[name] = w_index
            links = _items(workplace, "services")
            self._service_links("locations", index, links, ("workplaces", w_index, "services"))
        seen_dates: set[object] = set()
        for h_index, holiday in enumerate(_items(raw, "holidays")):
            day = holiday.get("date") if isinstance(holiday, dict) else None
            if day is not None and day in seen_dates:
                self._add(
                    "locations", index, ("holidays", h_index, "date"), f"{day} is listed twice"
                )
            seen_dates.add(day)

    def _specialist(self, index: int, raw: object) -> None:
        self._service_links("specialists", index, _items(raw, "services"), ("services",))
        days: dict[tuple[str, int], int] = {}
        for e_index, entry in enumerate(_items(raw, "schedule")):
            if not isinstance(entry, dict):
                continue
            location = _text(entry.get("location"))
            if location is None:
                continue
            if location not in self.workplaces_of:
                self._add(
                    "specialists",
                    index,
                    ("schedule", e_index, "location"),
                    f'unknown location "{location}"',
                )
                continue
            workplace = _text(entry.get("workplace"))
            if workplace is not None and workplace not in self.workplaces_of[location]:
                self._add(
                    "specialists",
                    index,
                    ("schedule", e_index, "workplace"),
                    f'"{workplace}" is not a workplace of location "{location}"',
                )
            hours = entry.get("hours")
            for key in hours if isinstance(hours, dict) else ():
                day = _weekday(key)
                if day is None:
                    continue
                if (location, day) in days:
                    self._add(
                        "specialists",
                        index,
                        ("schedule", e_index, "hours", str(key)),
                        f'"{location}" on {WEEKDAYS[day - 1]} is already in '
                        f"schedule[{days[(location, day)]}]",
                    )
                else:
                    days[(location, day)] = e_index
        seen_breaks: set[tuple[str, str]] = set()
        for b_index, item in enumerate(_items(raw, "breaks")):
            if not isinstance(item, dict):
                continue
            key = (str(item.get("date")), str(item.get("hours")).replace(" ", ""))
            if key in seen_breaks:
                self._add(
                    "specialists",
                    index,
                    ("breaks", b_index),
                    f"the same break on {key[0]} is listed twice",
                )
            seen_breaks.add(key)
