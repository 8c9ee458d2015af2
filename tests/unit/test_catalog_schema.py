"""The catalog file format: parsing, validation messages and YAML writing (no database)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.catalog.checks import CatalogError, parse_catalog
from bot.catalog.schema import TimeRange, parse_time_range
from bot.catalog.yamlio import dump_catalog, load_yaml
from bot.domain.walltime import WallTime

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "catalog.yaml"

BROKEN = """
version: 1
services:
  - name: Стрижка
    duration_min: 30
    price: 1000
  - name: Стрижка
    duration_min: 45
    price: 1200
  - name: Маникюр
    duration_min: 0
    price: 10.555
    pricee: 5
locations:
  - name: Центр
    timezone: Europe/Mosow
    hours: {mon: "10:00-09:00", funday: "10:00-11:00"}
    workplaces:
      - name: Кресло 1
        services: [Стрижка, Окрашивание]
  - name: Запад
    workplaces:
      - name: Кресло 9
specialists:
  - name: Ольга
    services: [Стрижка]
  - name: Борис
    services: [Стрижка]
  - name: Анна
    services: [Стрижка, Педикюр]
    schedule:
      - location: Центр
        workplace: Кресло 9
        hours: {mon: "10:00-18:00"}
      - location: Север
        hours: {tue: "10:00-18:00"}
"""


def parse_text(text: str):
    return parse_catalog(load_yaml(text))


def issues_of(text: str) -> list[str]:
    with pytest.raises(CatalogError) as caught:
        parse_text(text)
    return caught.value.issues


def test_example_parses_and_round_trips_through_yaml() -> None:
    catalog = parse_text(EXAMPLE.read_text(encoding="utf-8"))
    dumped = dump_catalog(catalog)
    again = parse_text(dumped)
    assert again == catalog
    assert dump_catalog(again) == dumped


def test_example_keeps_money_exact_and_reads_off_days() -> None:
    catalog = parse_text(EXAMPLE.read_text(encoding="utf-8"))
    manicure = next(s for s in catalog.services if s.name == "Маникюр")
    assert manicure.price == Decimal("2200.50")
    nevsky = next(loc for loc in catalog.locations if loc.name == "Салон на Невском")
    assert nevsky.hours[7] is None  # `sun: off`
    assert nevsky.hours[1] == TimeRange(WallTime.hm(9), WallTime.hm(20))


def test_broken_file_reports_every_problem_with_entry_and_field() -> None:
    issues = issues_of(BROKEN)
    expected = [
        'services[1] "Стрижка": name: "Стрижка" is already used by services[0]',
        'services[2] "Маникюр": duration_min: Input should be greater than 0',
        'services[2] "Маникюр": price: at most 2 decimals, got 10.555',
        'services[2] "Маникюр": pricee: unknown field (check the spelling)',
        'locations[0] "Центр": timezone: "Europe/Mosow" is not an IANA time zone'
        " (e.g. Europe/Moscow)",
        'locations[0] "Центр": hours.mon: "10:00-09:00": the end must be after the start',
        'locations[0] "Центр": hours.funday: "funday" is not a weekday'
        " (use mon, tue, wed, thu, fri, sat, sun)",
        'locations[0] "Центр": workplaces[0] "Кресло 1".services[1]: unknown service "Окрашивание"',
        'specialists[2] "Анна": services[1]: unknown service "Педикюр"',
        'specialists[2] "Анна": schedule[0].workplace: "Кресло 9" is not a workplace of'
        ' location "Центр"',
        'specialists[2] "Анна": schedule[1].location: unknown location "Север"',
    ]
    assert sorted(issues) == sorted(expected)
    # Reported in file order: services, then locations, then specialists.
    sections = [i.split("[", 1)[0] for i in issues]
    assert sections == sorted(sections, key=["services", "locations", "specialists"].index)


@pytest.mark.parametrize(
    ("snippet", "message"),
    [
        ("hours: {mon: 10:00}", 'hours.mon: expected hours like "09:00-18:00", got 600'),
        ("hours: {mon: }", 'hours.mon: expected hours like "09:00-18:00" or off, got nothing'),
        ("hours: {mon: 25:00-26:00}", "hours.mon: "),
        ("hours: {mon: off, 1: off}", 'hours.1: "1" is not a weekday'),
        ("hours: {mon: 09:00-24:30}", 'hours.mon: "09:00-24:30": 24:30 is not a time of day'),
        ("hours: {mon: 24:00-24:00}", 'hours.mon: "24:00-24:00": 24:00 ends a day'),
        ("hours: {mon: 00:00-00:00}", 'hours.mon: "00:00-00:00": the end must be after'),
        ("timezone: localtime", 'timezone: "localtime" is not an IANA time zone'),
        ("timezone: right/UTC", 'timezone: "right/UTC" is not an IANA time zone'),
        ("capacity: -1", "capacity: Input should be greater than or equal to 0"),
        ("capacity: 2.5", "capacity: Input should be a valid integer"),
        ("holidays: [{date: 2026-12-31, hours: 10:00-12:00}]", "hours are only allowed on a"),
        ("holidays: [{date: 2026-13-01}]", "holidays[0].date: Input should be a valid date"),
        (
            "holidays: [{date: 2026-12-31}, {date: 2026-12-31, working: true}]",
            "holidays[1].date: 2026-12-31 is listed twice",
        ),
        (
            "workplaces: [{name: A}, {name: A}]",
            'workplaces[1] "A".name: "A" is already used by workplaces[0]',
        ),
    ],
)
def test_location_field_problems(snippet: str, message: str) -> None:
    text = f"locations:\n  - name: L\n    {snippet}\n"
    issues = issues_of(text)
    assert len(issues) == 1
    assert issues[0].startswith('locations[0] "L": ')
    assert message in issues[0]


@pytest.mark.parametrize(
    ("snippet", "message"),
    [
        ("language: de", "language: String should match pattern"),
        ("tg_id: 0", "tg_id: Input should be greater than 0"),
        ("breaks: [{date: 2026-12-01, hours: 14:00-13:00}]", "the end must be after the start"),
        (
            "breaks: [{date: 2026-12-01}, {date: 2026-12-01}]",
            "breaks[1]: the same break on 2026-12-01 is listed twice",
        ),
        (
            "schedule: [{location: L, hours: {mon: off}},"
            " {location: L, hours: {mon: 10:00-11:00}}]",
            'schedule[1].hours.mon: "L" on mon is already in schedule[0]',
        ),
        ("services: [{service: S, custom_price: -1}]", "custom_price: must not be negative"),
        ("services: [S, S]", 'services[1]: "S" is listed twice'),
        ("services: [{service: S, custom_price: 1e10}]", "custom_price: must be less than"),
        ("services: [{service: S, custom_duration: 1441}]", "custom_duration: Input should be"),
    ],
)
def test_specialist_field_problems(snippet: str, message: str) -> None:
    text = (
        "services: [{name: S, duration_min: 30, price: 100}]\n"
        "locations: [{name: L}]\n"
        f"specialists:\n  - name: P\n    {snippet}\n"
    )
    issues = issues_of(text)
    assert len(issues) == 1, issues
    assert issues[0].startswith('specialists[0] "P": ')
    assert message in issues[0]


def test_duplicate_tg_id_is_rejected() -> None:
    text = "specialists: [{name: A, tg_id: 5}, {name: B, tg_id: 5}]"
    assert issues_of(text) == ['specialists[1] "B": tg_id: 5 is already used by specialists[0]']


def test_a_key_written_twice_is_an_error_with_its_line() -> None:
    text = "services:\n  - name: S\n    price: 100\n    price: 200\n    duration_min: 30\n"
    [issue] = issues_of(text)
    assert issue.startswith("line 4, column 5:")
    assert "'price' is written twice" in issue


def test_invalid_yaml_and_wrong_top_level_are_reported() -> None:
    assert issues_of("services: [")[0].startswith("line ")
    assert issues_of("- a\n- b\n") == [
        "file: expected a mapping with locations, services and specialists"
    ]
    assert sorted(issues_of("servises: []\nversion: 2\n")) == [
        "file: servises: unknown field (check the spelling)",
        "file: version: unsupported format version 2 (expected 1)",
    ]
    assert issues_of("") == ["file: is empty"]
    # A problem at the top does not hide the problems of the entries.
    assert issues_of("servises: []\nservices: [{name: S, price: 1}]\n") == [
        "file: servises: unknown field (check the spelling)",
        'services[0] "S": duration_min: is required',
    ]


def test_off_spellings_and_service_shorthand() -> None:
    text = (
        "services: [{name: S, duration_min: 30, price: 100}]\n"
        "locations:\n  - name: L\n    hours: {mon: off, tue: 'off', wed: 10:00-12:00}\n"
        "    workplaces: [{name: W, services: [S]}]\n"
    )
    catalog = parse_text(text)
    location = catalog.locations[0]
    assert location.hours == {1: None, 2: None, 3: TimeRange(WallTime.hm(10), WallTime.hm(12))}
    assert location.workplaces[0].services[0].service == "S"
    assert location.workplaces[0].services[0].price is None
    dumped = dump_catalog(catalog)
    assert "      mon: off\n" in dumped
    assert "          - S\n" in dumped  # a link without overrides is written as its name


# Every example is an ordered range ending at 24:00 at the latest (the end of the day).
ordered_minutes = st.integers(0, 24 * 60 - 1).flatmap(
    lambda lo: st.tuples(st.just(lo), st.integers(lo + 1, 24 * 60))
)


@given(bounds=ordered_minutes)
def test_time_range_text_round_trips(bounds: tuple[int, int]) -> None:
    start, end = (WallTime(m * 60) for m in bounds)
    rng = TimeRange(start, end)
    assert parse_time_range(str(rng)) == rng


@pytest.mark.parametrize("text", ["18:00-24:00", "18:00-00:00", "18:00 - 24:00"])
def test_an_evening_until_midnight_is_read_as_ending_at_24_00(text: str) -> None:
    rng = parse_time_range(text)
    assert rng == TimeRange(WallTime.hm(18), WallTime.hm(24))
    assert str(rng) == "18:00-24:00"
    catalog = parse_text(
        "locations:\n  - name: L\n    hours: {mon: '" + text + "'}\n"
        "    holidays: [{date: 2026-12-31, working: true, hours: '" + text + "'}]\n"
    )
    assert catalog.locations[0].hours[1] == rng
    assert "mon: 18:00-24:00" in dump_catalog(catalog)


@given(cents=st.integers(min_value=0, max_value=10**10))
def test_money_survives_dump_and_load(cents: int) -> None:
    amount = Decimal(cents) / 100
    text = f"services: [{{name: S, duration_min: 30, price: {amount}}}]"
    catalog = parse_text(text)
    assert catalog.services[0].price == amount
    assert parse_text(dump_catalog(catalog)).services[0].price == amount


@pytest.mark.parametrize("blank", ["'\u200b'", "'\u3164 \u200d'"])
def test_a_name_that_draws_nothing_is_refused(blank: str) -> None:
    text = f"services:\n  - name: {blank}\n    duration_min: 30\n    price: 10\n"
    [issue] = issues_of(text)
    assert "name: a name must have a visible character" in issue
