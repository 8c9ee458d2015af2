"""Admin shortcut arguments: who `<client>` is, and whose Telegram id a forwarded message or a
shared contact carries."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from aiogram.types import Chat, Contact, Message, MessageOriginHiddenUser, MessageOriginUser, User

from bot.domain.errors import InputProblem, InvalidInput
from bot.handlers.admin.args import split_first, split_word
from bot.handlers.admin.moving import parse_move
from bot.handlers.admin.screens import user_id_of


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("@anna 1500 cash at the desk", ("@anna", "1500 cash at the desk")),
        ('"Anna Petrova" -200 typo', ("Anna Petrova", "-200 typo")),
        ("«Анна Петрова» 10", ("Анна Петрова", "10")),
        ('"8 916 123 45 67" 100', ("8 916 123 45 67", "100")),
        ("#42", ("#42", "")),
        ('"Anna 100', None),
        ('"" 100', None),
        ("   ", None),
        (None, None),
    ],
)
def test_split_first(args: str | None, expected: tuple[str, str] | None) -> None:
    assert split_first(args) == expected


def test_split_word() -> None:
    assert split_word(" -200  till error ") == ("-200", "till error")
    assert split_word("") == ("", "")


def _message(**fields: object) -> Message:
    return Message(
        message_id=1,
        date=datetime(2031, 3, 3, tzinfo=UTC),
        chat=Chat(id=1, type="private"),
        **fields,  # type: ignore[arg-type]
    )


def test_user_id_of_a_forward_or_a_contact() -> None:
    user = User(id=4242, is_bot=False, first_name="Olga")
    when = datetime(2031, 3, 3, tzinfo=UTC)
    assert (
        user_id_of(_message(forward_origin=MessageOriginUser(date=when, sender_user=user))) == 4242
    )
    hidden = MessageOriginHiddenUser(date=when, sender_user_name="Olga")
    assert user_id_of(_message(forward_origin=hidden)) is None
    contact = Contact(phone_number="+79160000000", first_name="Olga", user_id=77)
    assert user_id_of(_message(contact=contact)) == 77
    assert user_id_of(_message(text="hello")) is None


def test_a_busy_day_is_cut_to_fit_one_message() -> None:
    from bot.handlers.admin.render import TEXT_LIMIT, fit
    from bot.i18n import Translator

    i18n = Translator("en")
    lines = [f"{n:03d} " + "x" * 60 for n in range(200)]
    text = fit(lines, i18n)
    assert len(text) <= TEXT_LIMIT
    shown = text.count("\n")  # kept lines, then the "more" line
    assert text.endswith(i18n("admin.day.more", count=200 - shown))
    assert fit(lines[:3], i18n) == "\n".join(lines[:3])


def test_split_first_takes_each_kind_of_quotes() -> None:
    assert split_first("“Anna Petrova” 10") == ("Anna Petrova", "10")
    assert split_first("„Anna Petrova“ 10") == ("Anna Petrova", "10")


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("04.03 24:00", InputProblem.TIME_FORMAT),
        ("04.03 10:60", InputProblem.TIME_FORMAT),
        ("04.03 9:5", InputProblem.TIME_FORMAT),
        ("04.03", InputProblem.TIME_FORMAT),
        ("04.03 noon", InputProblem.TIME_FORMAT),
        ("31.02 10:00", InputProblem.DATE_FORMAT),
        ("31.02", InputProblem.DATE_FORMAT),
        ("04.03.1999 10:00", InputProblem.DATE_FORMAT),
        ("", InputProblem.DATE_FORMAT),
        ("tomorrow 10:00", InputProblem.DATE_FORMAT),
    ],
)
def test_a_wrong_move_names_the_wrong_part(typed: str, problem: InputProblem) -> None:
    today = datetime(2031, 3, 3, 9, 0, tzinfo=ZoneInfo("Europe/Moscow"))
    with pytest.raises(InvalidInput) as refused:
        parse_move(typed, today, "Europe/Moscow")
    assert refused.value.reason is problem


def test_a_move_reads_date_time_and_specialist() -> None:
    today = datetime(2031, 3, 3, 9, 0, tzinfo=ZoneInfo("Europe/Moscow"))
    start, name = parse_move("04.03 23:59 Anna Petrova", today, "Europe/Moscow")
    assert start == datetime(2031, 3, 4, 23, 59, tzinfo=ZoneInfo("Europe/Moscow"))
    assert name == "Anna Petrova"
