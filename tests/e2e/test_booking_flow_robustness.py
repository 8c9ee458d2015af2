"""The /book conversation under any input: forged and stale buttons, text where a button is
expected, commands in the middle of the flow, and the waitlist (join from a raced-away date,
take an offered time)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
from redis.asyncio import Redis
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.emulator.server import BotAPIEmulator
from bot.i18n import translate
from bot.keyboards.notify import WaitlistTakeCb
from bot.services.availability import invalidate_catalog
from bot.services.booking import Actor
from db.models import Specialist
from tests.e2e.account_support import Clock, account_bot, book
from tests.e2e.booking_support import (
    NOW,
    SAID_TODAY,
    TODAY,
    TODAY_SHORT,
    Services,
    appointments_of,
    assert_money_invariant,
    booking_bot,
    button_data,
    flow_token,
    has_button,
    waitlist_of,
    wallet_of,
)
from tests.e2e.test_booking_flow import booked, is_summary, names, new_client, to_summary
from tests.integration.factories import make_catalog, make_client

pytestmark = pytest.mark.usefixtures("clean_db", "redis")


def t(key: str, **kw: object) -> str:
    return translate(key, "ru", **kw)


async def test_forged_and_stale_buttons_change_nothing(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
    redis: Redis,
    redis_prefix: str,
) -> None:
    main = await make_catalog(session_factory, specialists=2)
    other = await make_catalog(session_factory, specialists=2)
    n = await names(session_factory, main)
    other_specialist = other.specialist_ids[0]
    user, client_id = await new_client(emulator, session_factory, 5101)

    async with booking_bot(make_bot_settings) as app:
        services = Services(app)
        await user.send("/book")
        first = await user.wait_for_message(t("booking.ask.location"))
        flow = flow_token(first)
        old_button = button_data(first, n["location"])
        first_id = first.message_id

        # A location id nobody offered.
        await user.press_data(f"bk:{flow}:l:pick:999999")
        answer = await user.wait_for_callback_answer()
        assert answer["text"] == t("booking.notice.invalid")
        # Garbage with the booking prefix.
        await user.press_data("bk:garbage")
        assert (await user.wait_for_callback_answer())["text"] == t("booking.notice.stale")

        await user.press(n["location"])
        await user.wait_for_message(t("booking.ask.specialist"))
        # A button of the previous step (another location): stale, the current step again.
        await user.press_data(f"bk:{flow}:l:pick:{other.location_id}")
        assert (await user.wait_for_callback_answer())["text"] == t("booking.notice.stale")
        shown = emulator.message(user.chat_id, first.message_id)
        assert shown is not None and t("booking.ask.specialist") in (shown.text or "")
        assert t("booking.chosen.location", name=n["location"]) in (shown.text or "")
        # A specialist of another location.
        await user.press_data(f"bk:{flow}:p:pick:{other_specialist}")
        assert (await user.wait_for_callback_answer())["text"] == t("booking.notice.invalid")

        # A specialist deactivated after the list was shown.
        async with session_factory() as s, s.begin():
            await s.execute(
                update(Specialist)
                .where(Specialist.id == main.specialist_ids[1])
                .values(is_active=False)
            )
        # As every catalog change does (the admin's editor, the catalog import): the catalog
        # version moves, so every process drops its in-memory catalog.
        await invalidate_catalog(redis, redis_prefix)
        await user.press(n["specialists"][1])
        assert (await user.wait_for_callback_answer())["text"] == t("booking.notice.invalid")
        # One specialist is left: the step is taken for the client, and the header says so.
        shown = emulator.message(user.chat_id, first_id)
        assert shown is not None and t("booking.ask.date") in (shown.text or "")
        assert t("booking.chosen.specialist", name=n["specialists"][0]) in (shown.text or "")
        # A date beyond the horizon.
        far = (TODAY + timedelta(days=90)).toordinal()
        await user.press_data(f"bk:{flow}:d:pick:{far}")
        assert (await user.wait_for_callback_answer())["text"] == t("booking.notice.invalid")

        await user.press("03.03")
        await user.wait_for_message(t("booking.ask.time", zone=""))
        # A start that is not on the grid.
        odd = int((NOW + timedelta(hours=1, minutes=7)).timestamp())
        await user.press_data(f"bk:{flow}:t:pick:{odd}")
        assert (await user.wait_for_callback_answer())["text"] == t("booking.notice.invalid")
        assert await services.hold_of(client_id) is None

        # A new /book: the old flow's message loses its buttons; an old button pressed anyway
        # is out of date, and nothing is redrawn on the old message.
        await user.send("/book")
        second = await user.wait_for_message(t("booking.ask.location"), edits=False)
        assert flow_token(second) != flow
        new_button = button_data(second, n["location"])
        old = emulator.message(user.chat_id, first_id)
        assert old is not None and old.buttons == []
        await user.press_data(old_button, message_id=first_id)
        assert (await user.wait_for_callback_answer())["text"] == t("booking.notice.stale")
        old = emulator.message(user.chat_id, first_id)
        assert old is not None and t("booking.ask.location") not in (old.text or "")

        # FSM data gone (expired, or Redis flushed after a restart): the flow is over.
        prefix = app.settings.redis_prefix
        keys = [k async for k in app.redis.scan_iter(match=f"{prefix}:fsm:*")]
        assert keys
        await app.redis.delete(*keys)
        await user.press_data(new_button, message_id=second.message_id)
        answer = await user.wait_for_callback_answer()
        assert answer.get("text") == t("booking.notice.flow_gone"), answer
        gone = await user.wait_for_message(t("booking.notice.flow_gone"))
        assert has_button(gone, t("menu.btn.book"))  # the main menu, to start again

    assert await appointments_of(session_factory, client_id) == []


async def test_text_instead_of_a_button_gets_a_hint(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await make_catalog(session_factory, specialists=1)
    user, _ = await new_client(emulator, session_factory, 5102)

    async with booking_bot(make_bot_settings):
        await user.send("/book")
        await user.wait_for_message(t("booking.ask.date"))
        await user.send("завтра в десять")
        await user.wait_for_message(t("booking.hint.use_buttons"))
        again = await user.wait_for_message(t("booking.ask.date"), edits=False)
        # The flow goes on from the re-sent step.
        await user.press("03.03")
        msg = await user.wait_for_message(t("booking.ask.time", zone=""))
        assert msg.message_id == again.message_id


@pytest.mark.parametrize("command", ["/cancel", "/book", "/start", "/agenda"])
async def test_command_mid_flow_ends_it_and_releases_the_hold(
    command: str,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await make_catalog(session_factory, specialists=1)
    user, client_id = await new_client(emulator, session_factory, 5103)

    async with booking_bot(make_bot_settings) as app:
        services = Services(app)
        summary = await to_summary(user, "ru")
        confirm = button_data(summary, "Подтвердить")
        assert await services.hold_of(client_id) is not None

        await user.send(command)
        await user.wait_for_message(edits=False)  # the command is answered
        assert await services.hold_of(client_id) is None
        old = emulator.message(user.chat_id, summary.message_id)
        assert old is not None and old.buttons == []  # no live buttons left behind
        # The old summary's Confirm no longer books anything.
        await user.press_data(confirm, message_id=summary.message_id)
        await user.wait_for_callback_answer()

    assert await appointments_of(session_factory, client_id) == []
    balance, _ = await wallet_of(session_factory, client_id)
    assert balance == Decimal("5000.00")


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_waitlist_join_and_take_the_offer(
    lang: str,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    from datetime import time

    # Two one-hour slots a day (10:00 and 11:00), one specialist, one workplace.
    catalog = await make_catalog(
        session_factory, specialists=1, opens=time(10, 0), closes=time(12, 0)
    )
    user, client_id = await new_client(emulator, session_factory, 5104, lang=lang)
    intruder, _ = await new_client(emulator, session_factory, 5105)
    rival_id = await make_client(session_factory, balance=Decimal("5000"))

    async with booking_bot(make_bot_settings) as app:
        services = Services(app)
        await user.send("/book")
        await user.wait_for_message(translate("booking.ask.date", lang))

        # While the client looks at the dates, someone else books the whole of 03.03.
        taken = []
        for hours in (1, 2):
            start = NOW + timedelta(hours=hours)
            view = await book(app, rival_id, catalog, start, specialist_index=None)
            taken.append(view.id)

        day = TODAY_SHORT[lang]
        await user.press("03.03")
        msg = await user.wait_for_message(translate("booking.none.times", lang, date=day))
        await user.press(translate("booking.btn.join_waitlist", lang))
        await user.wait_for_message(
            translate(
                "booking.waitlist.joined",
                lang,
                date=day,
                service=(await names(session_factory, catalog))["service"],
            )
        )
        [entry] = await waitlist_of(session_factory, client_id)
        assert (entry.status, entry.date, entry.location_id) == (
            "waiting",
            TODAY,
            catalog.location_id,
        )

        # The 10:00 appointment is cancelled: the time is offered to the waiting client.
        await services.booking.cancel(taken[0], actor=Actor("admin", 1), now=NOW)
        [entry] = await waitlist_of(session_factory, client_id)
        assert entry.status == "offered" and entry.offered_start == NOW + timedelta(hours=1)
        take = WaitlistTakeCb(waitlist_id=entry.id).pack()

        # Someone else pressing the offer's button gets nothing.
        await intruder.send("/start")
        await intruder.wait_for_message()
        await intruder.press_data(take)
        answer = await intruder.wait_for_callback_answer()
        assert answer["text"] == t("booking.offer.gone")

        await user.press_data(take, message_id=msg.message_id)
        summary = await user.wait_for_message(is_summary(lang))
        assert f"{SAID_TODAY[lang]}, 10:00" in (summary.text or "")
        await user.press(translate("booking.btn.confirm", lang))
        await user.wait_for_message(booked(lang))

    [appointment] = await appointments_of(session_factory, client_id)
    assert appointment.start_time == NOW + timedelta(hours=1)
    [entry] = await waitlist_of(session_factory, client_id)
    assert entry.status == "fulfilled"
    await assert_money_invariant(session_factory)


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_waitlist_join_for_a_date_gone_by_is_refused(
    lang: str,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    from datetime import time

    # One one-hour slot a day; 03.03's is taken while the client looks at the dates.
    catalog = await make_catalog(
        session_factory, specialists=1, opens=time(10, 0), closes=time(11, 0)
    )
    user, client_id = await new_client(emulator, session_factory, 5106, lang=lang)
    rival_id = await make_client(session_factory, balance=Decimal("5000"))
    clock = Clock()
    settings = make_bot_settings(throttle_rate_per_second=1000.0)
    async with account_bot(settings, clock) as app:
        await user.send("/book")
        await user.wait_for_message(translate("booking.ask.date", lang))
        await book(app, rival_id, catalog, NOW + timedelta(hours=1), specialist_index=None)
        await user.press("03.03")
        day = TODAY_SHORT[lang]
        await user.wait_for_message(translate("booking.none.times", lang, date=day))
        # The client comes back to the screen the next day: nothing can open on 03.03 any more.
        clock.now = NOW + timedelta(days=1)
        await user.press(translate("booking.btn.join_waitlist", lang))
        answer = await user.wait_for_callback_answer()
        assert answer["text"] == translate("booking.waitlist.bad_date", lang)
    assert await waitlist_of(session_factory, client_id) == []


@pytest.mark.parametrize("command", ["/my", "/wallet", "/help", "/language", "/nonsense"])
async def test_a_command_that_only_shows_something_keeps_the_booking(
    command: str,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """/wallet (which the bot itself suggests when money is missing), /my, /help, /language
    and an unknown command leave the booking and its held time as they were: Confirm books."""
    await make_catalog(session_factory, specialists=1)
    user, client_id = await new_client(emulator, session_factory, 5104)

    async with booking_bot(make_bot_settings) as app:
        services = Services(app)
        summary = await to_summary(user, "ru")
        await user.send(command)
        await user.wait_for_message(edits=False)  # the command is answered
        assert await services.hold_of(client_id) is not None
        current = summary
        if command == "/nonsense":  # a hint and a fresh copy of the summary, the live one
            current = await user.wait_for_message(
                lambda m: m.message_id != summary.message_id and has_button(m, "Подтвердить"),
                edits=False,
            )
        await user.press_data(button_data(current, "Подтвердить"), message_id=current.message_id)
        await user.wait_for_message(lambda m: "Вы записаны" in (m.text or ""))

    [appointment] = await appointments_of(session_factory, client_id)
    assert appointment.status == "booked"
