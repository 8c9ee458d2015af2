"""Forged callback data through the real dispatcher: whatever a client's device sends as button
data (any string, or a known prefix with any fields: ids beyond PostgreSQL's `integer`, negative
ids, timestamps past the year 9999, malformed dates), the press gets an answer, nothing is logged
as an error, and no row changes.

The presser is a registered client with no appointments of their own; another client's
appointment exists, so forged ids that hit a real row are refused as "not yours".
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from decimal import Decimal

import pytest
from aiogram.filters.callback_data import CallbackData
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import bot.handlers  # noqa: F401  (registers every CallbackData factory)
from bot.config import Settings
from bot.emulator.server import BotAPIEmulator
from bot.emulator.users import SimUser
from tests.e2e.account_support import account_bot, book, local
from tests.e2e.booking_support import new_client
from tests.integration.factories import make_catalog

pytestmark = pytest.mark.usefixtures("clean_db", "redis")

# Every button factory the bot's routers know (the handlers import them all).
PREFIXES = tuple(sorted(cls.__prefix__ for cls in CallbackData.__subclasses__()))
# Values the handlers know, so generated data often parses up to the range checks.
WORDS = (
    "view", "cancel", "cancel_ok", "resched", "attend", "up", "past", "show", "topup", "come",
    "yes", "no", "completed", "no_show", "pick", "page", "back", "x", "ok", "wl", "l", "s", "p",
    "d", "t", "c", "book", "my", "wallet", "help", "phone", "language", "files", "specs",
    "month", "today", "week", "keep", "drop", "screen", "export", "{appt}",
)  # fmt: skip
TABLES = ("clients", "client_wallets", "appointments", "wallet_transactions", "waitlist", "outbox")
MAX_CALLBACK_BYTES = 64

segment = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.integers(min_value=-3, max_value=2**31 + 3).map(str),
    st.sampled_from(WORDS),
    st.text(st.characters(exclude_characters=":", codec="utf-8"), max_size=10),
)
in_prefix = st.builds(
    lambda prefix, fields: ":".join([prefix, *fields]),
    st.sampled_from(PREFIXES),
    st.lists(segment, max_size=5),
)
payloads = st.one_of(st.text(st.characters(codec="utf-8"), min_size=1, max_size=64), in_prefix)


@dataclass
class World:
    user: SimUser
    message_id: int
    appointment_id: int
    sessions: async_sessionmaker[AsyncSession]


@pytest.fixture
async def world(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> AsyncIterator[World]:
    catalog = await make_catalog(session_factory)
    _, owner_id = await new_client(emulator, session_factory, 7101)
    user, _ = await new_client(emulator, session_factory, 7102, lang="en", balance=Decimal("0"))
    async with account_bot(make_bot_settings()) as app:
        view = await book(app, owner_id, catalog, local(3, 10))
        await user.send("/help")
        message = await user.wait_for_message()
        yield World(user, message.message_id, view.id, session_factory)


DIGEST = "SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {} t"


async def snapshot(sessions: async_sessionmaker[AsyncSession]) -> dict[str, str | None]:
    """A digest of every row of the tables a button could change."""
    async with sessions() as s:
        return {name: await s.scalar(text(DIGEST.format(name))) for name in TABLES}


def test_every_button_factory_is_fuzzed() -> None:
    assert {
        "appt",
        "bk",
        "bn",
        "sch",
        "rsd",
        "rst",
        "rsc",
        "rem",
        "wlt",
        "agd",
        "top",
        "st",
        "cf",
    } <= set(PREFIXES)


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=payloads)
@example(data="wlt:9223372036854775808")
@example(data="appt:cancel:2147483648")
@example(data="rem:cancel:-2147483649")
@example(data="wlt:253402300800")
@example(data="appt:resched:99999999999999999999999999999999")
@example(data="rst:{appt}:253402300800")
@example(data="rsd:{appt}:99991231")
@example(data="rsc:{appt}:-1")
@example(data="rsd:{appt}:20310230")
@example(data="agd:completed:2147483648")
@example(data="top:9223372036854775808")
@example(data="bk:zz:l:pick:1")
@example(data="bk:abcd1234:l:pick:99999999999")
async def test_forged_button_gets_an_answer_and_changes_nothing(
    world: World, data: str, caplog: pytest.LogCaptureFixture
) -> None:
    data = data.replace("{appt}", str(world.appointment_id))
    if not 0 < len(data.encode()) <= MAX_CALLBACK_BYTES:
        return  # Telegram never delivers such data
    caplog.set_level(logging.WARNING)
    before = await snapshot(world.sessions)
    seen = len(caplog.records)

    await world.user.press_data(data, message_id=world.message_id)
    answer = await world.user.wait_for_callback_answer()

    assert isinstance(answer, dict)
    failures = [
        r for r in caplog.records[seen:] if r.levelno >= logging.ERROR or r.exc_info is not None
    ]
    assert not failures, [r.getMessage() for r in failures]
    assert await snapshot(world.sessions) == before
