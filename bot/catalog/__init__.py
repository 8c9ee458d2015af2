"""The catalog as a file: `python -m bot catalog import FILE.yaml` and `catalog export FILE.yaml`.

The file holds the whole catalog and schedules: services; locations with weekly hours,
holidays and workplaces (and the services each workplace hosts, with optional price, duration
and break overrides); specialists with their services (custom price and duration), weekly
schedules per location (optionally pinning a workplace) and breaks. Locations, workplaces,
services and specialists may carry translated names (`name_i18n: {en: Haircut}`); `name` stays
the base name, shown when the client's language has none. `examples/catalog.yaml` is a
commented example.

Semantics of an import:
- The file is validated fully before anything is written, and every problem is reported with
  the entry and the field, e.g. `specialists[2] "Анна": schedule[0].workplace: "Кресло 9" is
  not a workplace of location "Центр"`. Checked: unknown fields (typos), references (services,
  locations, workplaces by name; a pinned workplace belongs to the schedule's location),
  duplicates, weekday keys (`mon`..`sun`), hours (`HH:MM-HH:MM`, end after start), IANA time
  zones, money (>= 0, at most 2 decimals), durations (> 0).
- It is applied in one transaction: any failure changes nothing. Concurrent imports wait for
  each other (an advisory lock).
- Entries are matched by name: locations, services, specialists by name; workplaces by
  (location, name); links by their pair; weekly hours by (location, weekday); schedules by
  (specialist, location, weekday); holidays by (location, date); breaks by (specialist, date,
  hours). A renamed entry is a new entry, and the old one is deactivated.
- The file is the desired state. Locations, services and specialists absent from the file are
  deactivated (`is_active = false`), never deleted, because appointments reference them. So are
  the workplaces absent from a location in the file, and the service links absent from a
  workplace or specialist in the file. Weekly hours, holidays, schedules and breaks of the
  entries in the file are replaced by the file's: rows it does not list are deleted. Rows of
  entries absent from the file are left as they are.
- A Telegram id (`tg_id`) given to a specialist in the file is taken from whichever other
  specialist held it.
- Idempotent: every row is compared before writing, so importing the same file twice writes
  nothing. The summary (created/updated/deactivated/deleted per kind) is printed.

Export writes the current catalog, inactive entries included, in the same format and a stable
order: importing an export changes nothing, and export -> import into an empty database ->
export yields an identical file.

Modules: `schema` (pydantic models of one entry each), `checks` (whole-file validation and
error messages), `yamlio` (YAML reading/writing with exact money), `importer`, `exporter`,
`cli` (`main(argv) -> int`).
"""
