"""The /admin menu's front-desk paths through the real bot and the emulator, in Russian and
English: booking for a client (found, or new without Telegram; a short wallet paid at the desk),
the Clients screen (paged with no cap, search, card: notes, top-up, adjustment, block), the day
view by specialist with a typed date, admins added by a forwarded message, a shared contact and
an id, and removed (their old buttons refused at once)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time
from decimal import Decimal

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.emulator.server import BotAPIEmulator
from bot.emulator.users import SimUser
from bot.keyboards.booking import BookAction, BookCb
from bot.services.booking import BookingService
from bot.services.holds import HoldStore
from db.models import Admin, Appointment, Client, Service, Specialist
from tests.e2e.account_support import book
from tests.e2e.booking_support import (
    NOW,
    TODAY_SHORT,
    appointments_of,
    booking_bot,
    t,
    waitlist_of,
    wallet_of,
)
from tests.e2e.test_admin import ADMIN_TG, location_name, set_client
from tests.integration.admin_support import audit_actions, database_fingerprint
from tests.integration.factories import booking_request, make_catalog, make_client
from tests.money import rub

pytestmark = pytest.mark.usefixtures("clean_db", "redis")

HELPERS = (555_600_001, 555_600_002, 555_600_003, 555_600_004)


async def owner(
    emulator: BotAPIEmulator, sessions: async_sessionmaker[AsyncSession], lang: str
) -> SimUser:
    admin_id = await make_client(sessions, tg_id=ADMIN_TG)
    await set_client(sessions, admin_id, language=lang, first_name="Olga")
    return emulator.user(ADMIN_TG, "Olga", language_code=lang)


async def open_menu(admin: SimUser, lang: str, item: str) -> None:
    await admin.send("/admin")
    await admin.wait_for_message(t("admin.menu.title", lang))
    await admin.press(t(item, lang))


def first_line(key: str, lang: str, **kw: object) -> str:
    """The first line of a text, with its placeholders there filled."""
    return t(key, lang).split("\n", 1)[0].format(**kw)


async def book_at(
    admin: SimUser, lang: str, name: str, time: str, *, confirm_first: bool = False
) -> None:
    """From the first step of a desk booking (one location, service and specialist: the dates)
    to the summary of today's `time`; the wallet is short: the summary names the client and
    offers the desk payment at once (`confirm_first`: Confirm is pressed first and refused
    with what is missing), which is recorded and books."""
    dates = await admin.wait_for_message(t("booking.ask.date", lang))
    assert t("admin.book.for", lang, name=name) in (dates.text or "")
    await admin.press("03.03")
    await admin.wait_for_message(lambda m: m.find_button(time) is not None)
    await admin.press(time)
    short = t("admin.btn.desk_pay", lang, amount=rub(1000, lang))
    summary = await admin.wait_for_message(lambda m: m.find_button(short) is not None)
    text = summary.text or ""
    assert first_line("admin.desk.summary", lang, client=name) in text
    assert first_line("booking.summary", lang) not in text
    assert t(
        "admin.desk.summary.short", lang, client=name, balance=rub(0, lang), missing=rub(1000, lang)
    ) in (text + "\n")
    assert summary.find_button(t("booking.btn.pay", lang, amount=rub(1000, lang))) is None
    if confirm_first:
        await admin.press(t("booking.btn.confirm", lang))
        refused = await admin.wait_for_message(
            first_line("admin.desk.insufficient", lang, client=name)
        )
        assert refused.find_button(short) is not None
        alert = await admin.wait_for_callback_answer()
        assert alert.get("text") == t(
            "admin.desk.insufficient_alert", lang, client=name, missing=rub(1000, lang)
        )
    await admin.press(short)
    done = await admin.wait_for_message(first_line("admin.desk.done", lang, client=name))
    assert t("admin.book.for", lang, name=name) in (done.text or "")
    assert first_line("booking.done", lang) not in (done.text or "")
    assert "/my" not in (done.text or "")
    assert done.find_button(t("admin.btn.appointment", lang)) is not None


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_book_for_a_found_client_and_for_a_new_one_paying_at_the_desk(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
    lang: str,
) -> None:
    cat = await make_catalog(session_factory, workplaces=2, specialists=1)
    admin = await owner(emulator, session_factory, lang)
    anna = await make_client(session_factory)
    await set_client(session_factory, anna, first_name="Anna", last_name="Petrova")
    async with booking_bot(make_bot_settings):
        await open_menu(admin, lang, "admin.menu.book")
        await admin.wait_for_message(t("admin.clients.title_book", lang))
        await admin.send("petrova")
        await admin.wait_for_message(t("admin.clients.found", lang, query="petrova", count=1))
        await admin.press("Anna Petrova")
        await book_at(admin, lang, "Anna Petrova", "10:00")

        # A walk-in without Telegram: added by name and phone, then booked the same way.
        await open_menu(admin, lang, "admin.menu.book")
        await admin.press(t("admin.btn.new_client", lang))
        await admin.wait_for_message(t("admin.new_client.ask", lang))
        await admin.send("Walk In")  # no phone
        await admin.wait_for_message(t("admin.new_client.ask", lang))
        await admin.send("Walk In +7 916 000-00-01")
        await admin.wait_for_message(
            t("admin.new_client.created", lang, name="Walk In", phone="+79160000001")
        )
        await book_at(admin, lang, "Walk In", "11:00", confirm_first=True)

    async with session_factory() as s:
        walk_in = await s.scalar(select(Client).where(Client.phone == "+79160000001"))
        assert walk_in is not None and walk_in.tg_id is None
        booked = (await s.scalars(select(Appointment).order_by(Appointment.id))).all()
    assert [a.client_id for a in booked] == [anna, walk_in.id]
    for client_id in (anna, walk_in.id):
        balance, ledger = await wallet_of(session_factory, client_id)
        assert balance == Decimal("0.00")
        assert [(r.kind, r.amount) for r in ledger] == [
            ("topup", Decimal("1000.00")),
            ("debit", Decimal("-1000.00")),
        ]
    assert await audit_actions(session_factory) == [
        "wallet.topup",
        "appointment.booked",
        "client.created",
        "wallet.topup",
        "appointment.booked",
    ]
    assert cat.location_id


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_with_card_payments_on_the_desk_never_sends_the_admin_an_invoice(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
    lang: str,
) -> None:
    await make_catalog(session_factory, workplaces=1, specialists=1)
    admin = await owner(emulator, session_factory, lang)
    anna = await make_client(session_factory, balance=Decimal("400"))
    await set_client(session_factory, anna, first_name="Anna", username="anna_p")
    settings = {"payment_provider_token": "284685063:TEST:provider-token"}
    async with booking_bot(make_bot_settings, **settings):
        await admin.send("/client @anna_p")
        await admin.wait_for_message(t("admin.card.title", lang, name="Anna"))
        await admin.press(t("admin.menu.book", lang))
        await admin.wait_for_message(t("booking.ask.date", lang))
        await admin.press("03.03")
        await admin.wait_for_message(lambda m: m.find_button("10:00") is not None)
        await admin.press("10:00")
        short = t("admin.btn.desk_pay", lang, amount=rub(600, lang))
        summary = await admin.wait_for_message(lambda m: m.find_button(short) is not None)
        assert summary.find_button(t("booking.btn.pay", lang, amount=rub(600, lang))) is None

        # The client's "Pay and book" (an old or forged button) is refused at the desk.
        before = await database_fingerprint(session_factory)
        confirm = summary.find_button(t("booking.btn.confirm", lang))
        assert confirm is not None
        data = BookCb.unpack(confirm["callback_data"])
        await admin.press_data(BookCb(flow=data.flow, step=data.step, action=BookAction.PAY).pack())
        answer = await admin.wait_for_callback_answer()
        assert answer.get("text") == t("admin.book.no_invoice", lang)
        assert not [m for m in admin.messages if m.invoice is not None]
        assert await database_fingerprint(session_factory) == before

        await admin.press(short)
        await admin.wait_for_message(first_line("admin.desk.done", lang, client="Anna"))
    balance, ledger = await wallet_of(session_factory, anna)
    assert balance == Decimal("0.00")
    assert [(r.kind, r.amount) for r in ledger] == [
        ("topup", Decimal("400.00")),
        ("topup", Decimal("600.00")),
        ("debit", Decimal("-1000.00")),
    ]


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_the_time_screens_at_the_desk_name_the_client_not_you(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
    lang: str,
) -> None:
    """The dates' hint, a hold that lapsed while someone took the time, a day with no time
    left, its waitlist button and the waitlist join all speak to the admin about the client."""
    cat = await make_catalog(session_factory, specialists=1, opens=time(10, 0), closes=time(12, 0))
    admin = await owner(emulator, session_factory, lang)
    anna = await make_client(session_factory, balance=Decimal("5000"))
    await set_client(session_factory, anna, first_name="Anna", username="anna_p")
    rival = await make_client(session_factory, balance=Decimal("5000"))
    async with booking_bot(make_bot_settings) as app:
        await admin.send("/client @anna_p")
        await admin.wait_for_message(t("admin.card.title", lang, name="Anna"))
        await admin.press(t("admin.menu.book", lang))
        dates = await admin.wait_for_message(t("booking.ask.date", lang))
        assert t("admin.desk.hint.nearest", lang, client="Anna") in (dates.text or "")
        assert t("booking.hint.nearest", lang) not in (dates.text or "")
        await admin.press("03.03")
        await admin.wait_for_message(lambda m: m.find_button("10:00") is not None)
        await admin.press("10:00")
        await admin.wait_for_message(first_line("admin.desk.summary", lang, client="Anna"))

        # Anna's hold lapses and the rival takes both times of the day.
        holds: HoldStore = app.services.holds
        await holds.release(anna)
        for hour in (7, 8):
            await book(app, rival, cat, datetime(2031, 3, 3, hour, 0, tzinfo=UTC))
        await admin.press(t("booking.btn.confirm", lang))
        day = TODAY_SHORT[lang]
        full = await admin.wait_for_message(t("admin.desk.hold_expired", lang, client="Anna"))
        text = full.text or ""
        assert t("admin.desk.none.times", lang, client="Anna", date=day) in text
        for you in ("booking.hold_expired", "booking.none.times"):
            assert t(you, lang, date=day) not in text
        assert full.find_button(t("booking.btn.join_waitlist", lang)) is None
        await admin.press(t("admin.desk.btn.join_waitlist", lang, client="Anna"))
        async with session_factory() as s:
            service = await s.scalar(select(Service.name).where(Service.id == cat.service_id))
        joined = t("admin.desk.waitlist.joined", lang, client="Anna", date=day, service=service)
        await admin.wait_for_message(joined)

    [entry] = await waitlist_of(session_factory, anna)
    assert (entry.status, entry.date) == ("waiting", NOW.date())
    assert await appointments_of(session_factory, anna) == []
    balance, ledger = await wallet_of(session_factory, anna)
    assert balance == sum(r.amount for r in ledger) == Decimal("5000.00")


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_a_client_without_telegram_is_not_put_on_the_waitlist(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
    lang: str,
) -> None:
    """A walk-in has no chat for a waitlist offer: the desk's empty day says so without the
    button, and a forged join is refused with nothing written."""
    cat = await make_catalog(session_factory, specialists=1, opens=time(10, 0), closes=time(12, 0))
    admin = await owner(emulator, session_factory, lang)
    rival = await make_client(session_factory, balance=Decimal("5000"))
    async with booking_bot(make_bot_settings) as app:
        for hour in (7, 8):
            await book(app, rival, cat, datetime(2031, 3, 3, hour, 0, tzinfo=UTC))
        await open_menu(admin, lang, "admin.menu.book")
        await admin.wait_for_message(t("admin.clients.title_book", lang))
        await admin.press(t("admin.btn.new_client", lang))
        await admin.wait_for_message(t("admin.new_client.ask", lang))
        await admin.send("Walk In +7 916 000-00-02")
        await admin.wait_for_message(t("booking.ask.date", lang))
        await admin.press("03.03")
        day = TODAY_SHORT[lang]
        empty = t("admin.desk.none.times_no_chat", lang, client="Walk In", date=day)
        screen = await admin.wait_for_message(empty)
        assert screen.find_button(t("admin.desk.btn.join_waitlist", lang, client="Walk In")) is None
        back = screen.find_button(t("booking.btn.back", lang))
        assert back is not None

        before = await database_fingerprint(session_factory)
        data = BookCb.unpack(back["callback_data"])
        forged = BookCb(flow=data.flow, step=data.step, action=BookAction.JOIN_WAITLIST)
        await admin.press_data(forged.pack())
        answer = await admin.wait_for_callback_answer()
        assert answer.get("text") == t("admin.desk.waitlist.no_chat", lang, client="Walk In")
        assert await database_fingerprint(session_factory) == before

    async with session_factory() as s:
        walk_in = await s.scalar(select(Client.id).where(Client.phone == "+79160000002"))
    assert walk_in is not None
    assert await waitlist_of(session_factory, walk_in) == []


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_clients_screen_pages_past_twenty_searches_and_edits_the_card(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
    lang: str,
) -> None:
    admin = await owner(emulator, session_factory, lang)
    ids = [await make_client(session_factory) for _ in range(24)]
    for n, client_id in enumerate(ids):
        await set_client(session_factory, client_id, first_name=f"Zoe{n:02d}")
    anna = ids[0]
    await set_client(session_factory, anna, first_name="Anna", username="anna_p")
    async with booking_bot(make_bot_settings):
        await open_menu(admin, lang, "admin.menu.clients")
        seen: list[str] = []
        page = await admin.wait_for_message(t("admin.clients.all", lang, count=25))
        while True:
            seen += [b for b in page.button_texts() if b.startswith(("Zoe", "Anna", "Olga"))]
            if page.find_button(t("admin.btn.next", lang)) is None:
                break
            await admin.press(t("admin.btn.next", lang))
            shown = page.message_id
            page = await admin.wait_for_message(lambda m, shown=shown: m.message_id == shown)
        assert len(seen) == len(set(seen)) == 25  # every client, no cap at 20

        await admin.send("@anna_p")
        await admin.wait_for_message(t("admin.clients.found", lang, query="@anna_p", count=1))
        await admin.press("Anna")
        await admin.wait_for_message(t("admin.card.title", lang, name="Anna"))

        await admin.press(t("admin.btn.notes", lang))
        await admin.wait_for_message(t("admin.notes.ask", lang))
        await admin.send("x" * 1001)
        await admin.wait_for_message(t("admin.input.text_too_long", lang, limit=1000))
        await admin.send("  ")
        await admin.wait_for_message(t("admin.input.notes_empty", lang))
        await admin.send("likes <b>green</b> tea")
        await admin.wait_for_message(t("admin.notes.done", lang))
        await admin.wait_for_message("likes <b>green</b> tea")

        await admin.press(t("admin.btn.topup", lang))
        await admin.wait_for_message(t("admin.topup.ask", lang))
        await admin.send("15OO")
        await admin.wait_for_message(t("admin.input.amount_format", lang))
        await admin.send("1500 cash")
        await admin.wait_for_message(
            t(
                "admin.topup.done",
                lang,
                amount="+" + rub(1500, lang),
                client="Anna",
                balance=rub(1500, lang),
            )
        )
        await admin.press(t("admin.btn.adjust", lang))
        await admin.wait_for_message(t("admin.adjust.ask", lang))
        await admin.send("-2000 typo")
        await admin.wait_for_message(
            t("admin.adjust.insufficient", lang, balance=rub(1500, lang), amount=rub(-2000, lang))
        )
        await admin.press(t("admin.btn.adjust", lang))
        await admin.wait_for_message(t("admin.adjust.ask", lang))
        await admin.send("-200")  # the comment is required: asked again
        await admin.wait_for_message(t("admin.adjust.ask", lang))
        await admin.send("-200 till error")
        await admin.wait_for_message(
            t(
                "admin.adjust.done",
                lang,
                amount=rub(-200, lang),
                client="Anna",
                balance=rub(1300, lang),
            )
        )
        await admin.press(t("admin.btn.disc", lang))
        await admin.wait_for_message(t("admin.discount.ask", lang))
        await admin.send("150")
        await admin.wait_for_message(t("admin.input.percent_range", lang))
        await admin.send("15")
        await admin.wait_for_message(t("admin.discount.done", lang, client="Anna", percent="15"))
        await admin.press(t("admin.btn.block", lang))
        await admin.wait_for_message(t("admin.card.blocked", lang))

        await open_menu(admin, lang, "admin.menu.audit")
        log = await admin.wait_for_message(t("admin.audit.title", lang, zone="Europe/Moscow"))
        assert f"Anna (#{anna})" in (log.text or "")
        assert f"Olga ({ADMIN_TG})" in (log.text or "")
    async with session_factory() as s:
        row = await s.get(Client, anna)
        assert row is not None and row.notes == "likes <b>green</b> tea" and row.is_blocked
        assert row.discount_percent == Decimal("15")
    balance, ledger = await wallet_of(session_factory, anna)
    assert balance == Decimal("1300.00")
    assert [r.kind for r in ledger] == ["topup", "adjustment"]
    assert await audit_actions(session_factory) == [
        "client.notes",
        "wallet.topup",
        "wallet.adjust",
        "client.discount",
        "client.blocked",
    ]


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_day_view_by_specialist_from_the_menu_and_by_shortcut(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
    lang: str,
) -> None:
    cat = await make_catalog(session_factory, specialists=2, workplaces=2)
    admin = await owner(emulator, session_factory, lang)
    boris = await make_client(session_factory, balance=Decimal("1000"))
    await set_client(session_factory, boris, first_name="Boris")
    async with session_factory() as s:
        spec = await s.get(Specialist, cat.specialist_ids[0])
        assert spec is not None
        name = spec.name
    async with booking_bot(make_bot_settings) as app:
        booking: BookingService = app.services.booking
        request = booking_request(cat, boris)
        view = await booking.confirm(request, now=NOW)
        spec_name = view.specialist_name
        await open_menu(admin, lang, "admin.menu.day")
        await admin.wait_for_message(t("admin.day.pick_loc", lang, date="03.03.2031"))
        assert await location_name(session_factory, cat.location_id)
        await admin.press(t("admin.btn.by_specialist", lang))
        await admin.wait_for_message(t("admin.day.pick_spec", lang, date="03.03.2031"))
        await admin.press(spec_name)
        await admin.wait_for_message(t("admin.day.empty", lang))  # today: nothing
        await admin.press(t("admin.btn.pick_date", lang))
        await admin.wait_for_message(t("admin.day.ask_date", lang))
        await admin.send("31.02")
        await admin.wait_for_message(t("admin.input.date_format", lang))
        await admin.send("04.03")
        day = await admin.wait_for_message("Boris")
        assert f"{spec_name} — 04.03.2031" in (day.text or "")

        await admin.send(f"/day 04.03 {spec_name}")
        direct = await admin.wait_for_message(f"{spec_name} — 04.03.2031")
        assert "Boris" in (direct.text or "")
        assert name


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_admins_added_by_forward_contact_and_id_and_removed_lose_access_at_once(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
    lang: str,
) -> None:
    admin = await owner(emulator, session_factory, lang)
    helpers = [emulator.user(tg, f"Helper{n}", language_code=lang) for n, tg in enumerate(HELPERS)]
    async with booking_bot(make_bot_settings):
        await open_menu(admin, lang, "admin.menu.admins")
        await admin.wait_for_message(t("admin.admins.title", lang))

        async def add(action: Callable[[], object], tg_id: int) -> None:
            await admin.press(t("admin.btn.add_admin", lang))
            await admin.wait_for_message(t("admin.admins.ask", lang))
            await action()  # type: ignore[misc]
            await admin.wait_for_message(t("admin.admins.done_add", lang, tg_id=tg_id))
            await open_menu(admin, lang, "admin.menu.admins")

        await add(lambda: admin.forward("hi", helpers[0]), HELPERS[0])
        await add(lambda: admin.share_contact("+79160000002", user_id=HELPERS[1]), HELPERS[1])
        await add(lambda: admin.send(str(HELPERS[2])), HELPERS[2])
        # Hidden by privacy settings: asked for a contact or an id instead, nothing added.
        await admin.press(t("admin.btn.add_admin", lang))
        await admin.wait_for_message(t("admin.admins.ask", lang))
        await admin.forward("hi", helpers[3], hidden=True)
        await admin.wait_for_message(t("admin.admins.ask_again", lang))
        await admin.send(f"/addadmin {HELPERS[0]}")
        await admin.wait_for_message(t("admin.admins.already", lang, tg_id=HELPERS[0]))

        first = helpers[0]
        await first.send("/admin")
        await first.wait_for_message(t("admin.menu.title", lang))

        await open_menu(admin, lang, "admin.menu.admins")
        await admin.wait_for_message(str(HELPERS[2]))
        await admin.press(str(HELPERS[0]))  # its Remove button names them with the id
        answer = await admin.wait_for_callback_answer()
        assert answer.get("text") == t("admin.admins.done_remove", lang, tg_id=HELPERS[0])

        before = await database_fingerprint(session_factory)
        for item in ("admin.menu.clients", "admin.menu.book", "admin.menu.admins"):
            await first.press(t(item, lang))  # the old menu, still on their screen
            answer = await first.wait_for_callback_answer()
            assert answer.get("text") == t("admin.denied", lang)
        await first.send("/admin")
        await first.wait_for_message(t("admin.denied", lang))
        assert await database_fingerprint(session_factory) == before
    async with session_factory() as s:
        stored = set((await s.scalars(select(Admin.tg_id))).all())
        actions = [r[0] for r in await s.execute(text("SELECT action FROM audit_log ORDER BY id"))]
    assert stored == {HELPERS[1], HELPERS[2]}
    assert actions == ["admin.added"] * 3 + ["admin.removed"]
