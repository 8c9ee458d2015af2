"""Admin shortcut arguments: who `<client>` is, and whose Telegram id a forwarded message or a
shared contact carries."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from aiogram.types import Chat, Contact, Message, MessageOriginHiddenUser, MessageOriginUser, User

from bot.handlers.admin.args import split_first, split_word
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
