"""The booking conversation's draft as FSM data: every field written, read back the same."""

from __future__ import annotations

from dataclasses import asdict, fields

from bot.handlers.booking.context import Draft


def full_draft() -> Draft:
    """A draft with every field set to something other than its default."""
    return Draft(
        flow="a1b2",
        location_id=1,
        service_id=2,
        specialist_id=3,
        any_specialist=True,
        day=739_586,
        start=1_764_500_000,
        hold_id="h-1",
        date_page=1,
        time_page=101,
        auto=["l", "s"],
        offered_days=[739_586, 739_587],
        offered_times=[1_764_500_000],
        offered_near=[1_764_500_900],
        assigned_specialist=3,
        held_workplace=4,
        quoted_price="25.00",
        for_client=9,
        for_label="Booking for Anna",
        for_name="Anna",
        for_chat=False,
        message_id=77,
    )


def test_every_field_is_set_by_the_sample() -> None:
    default, sample = Draft(flow="a1b2"), full_draft()
    changed = {f.name for f in fields(Draft) if getattr(sample, f.name) != getattr(default, f.name)}
    assert changed == {f.name for f in fields(Draft)} - {"flow"}


def test_the_data_is_what_asdict_gives_and_reads_back() -> None:
    draft = full_draft()
    data = draft.to_data()
    assert data == asdict(draft)
    assert Draft.from_data(data) == draft


def test_the_data_does_not_share_the_drafts_lists() -> None:
    draft = full_draft()
    data = draft.to_data()
    draft.offered_times.append(1)
    draft.auto.clear()
    assert data["offered_times"] == [1_764_500_000]
    assert data["auto"] == ["l", "s"]
