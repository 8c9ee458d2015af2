"""/stats end to end, in Russian and English: the figures of the fixed data set (`stats_data`,
computed by hand there), the chart and the CSV files, the period and scope buttons, a period
typed on the screen, and every refusal (not an admin, a bad period, a forged button) with
nothing changed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.emulator.server import BotAPIEmulator
from bot.keyboards.stats import StatsAction, StatsCb
from tests.e2e.booking_support import t
from tests.emulator.fixtures import running_bot
from tests.integration import stats_data
from tests.money import rub

pytestmark = pytest.mark.usefixtures("clean_db", "redis")

ADMIN = 777_001
NOW = datetime(2031, 3, 31, 9, 0, tzinfo=UTC)


def upload(params: dict[str, Any], field: str) -> dict[str, Any]:
    """The file the bot uploaded as `field` (aiogram sends `attach://<part>`), as the emulator
    recorded it: its name and size."""
    part = str(params[field]).removeprefix("attach://")
    recorded = params[part]
    assert isinstance(recorded, dict)
    return recorded


async def row_counts(sessions: async_sessionmaker[AsyncSession]) -> tuple[int, int, int]:
    async with sessions() as s:
        row = (
            await s.execute(
                text(
                    "SELECT (SELECT count(*) FROM appointments), "
                    "(SELECT count(*) FROM wallet_transactions), (SELECT count(*) FROM outbox)"
                )
            )
        ).one()
    return int(row[0]), int(row[1]), int(row[2])


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_stats_text_chart_and_csv(
    lang: str,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await stats_data.build(session_factory)
    admin = emulator.user(ADMIN, "Owner", language_code=lang)
    settings = make_bot_settings(admin_ids=[ADMIN])
    setup = lambda app: setattr(app.clock, "source", lambda: NOW)  # noqa: E731
    async with running_bot(settings, setup=setup):
        await admin.send("/stats 24.03-30.03")
        shown = await admin.wait_for_message(t("stats.bookings_made", lang, count=6))
        assert t("stats.held", lang, held=5, completed=3, no_shows=1) in (shown.text or "")
        assert t("stats.cancelled", lang, client=2, admin=1, specialist=0) in (shown.text or "")
        assert t("stats.revenue", lang, revenue=rub(3900, lang), check=rub(1080, lang)) in (
            shown.text or ""
        )
        assert t("stats.topups", lang, amount=rub(5500, lang)) in (shown.text or "")
        assert t("stats.clients", lang, clients=3, new=2, returning=1) in (shown.text or "")
        assert t("stats.occupancy", lang, percent="8", booked="5.5", working="73") in (
            shown.text or ""
        )
        await admin.wait_for_message(t("stats.chart.caption", lang))
        await admin.wait_for_message(t("stats.csv.appointments", lang))
        await admin.wait_for_message(t("stats.csv.ledger", lang))
        [photo] = [upload(c.params, "photo") for c in emulator.calls_to("sendPhoto", chat_id=ADMIN)]
        assert photo["filename"] == "stats-20310324-20310330.png" and photo["size"] > 10_000
        documents = [
            upload(c.params, "document") for c in emulator.calls_to("sendDocument", chat_id=ADMIN)
        ]
        assert [d["filename"] for d in documents] == [
            "appointments-20310324-20310330.csv",
            "ledger-20310324-20310330.csv",
        ]
        assert all(d["size"] > 100 for d in documents)

        # The location "Центр": the same period, narrowed by its button.
        await admin.press("Центр")
        narrowed = await admin.wait_for_message(t("stats.bookings_made", lang, count=5))
        assert "Центр" in (narrowed.text or "")
        assert t("stats.topups", lang, amount=rub(5500, lang)) not in (narrowed.text or "")

        # A specialist, picked from the list.
        await admin.press(t("stats.btn.specialists", lang))
        await admin.wait_for_message(lambda m: "Борис" in m.button_texts())
        await admin.press("Борис")
        boris = await admin.wait_for_message(
            t("stats.revenue", lang, revenue=rub(800, lang), check=rub(800, lang))
        )
        assert t("stats.clients", lang, clients=1, new=0, returning=1) in (boris.text or "")


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_refusals_change_nothing(
    lang: str,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await stats_data.build(session_factory)
    before = await row_counts(session_factory)
    admin = emulator.user(ADMIN, "Owner", language_code=lang)
    client = emulator.user(777_002, "Client", language_code=lang)
    settings = make_bot_settings(admin_ids=[ADMIN])
    setup = lambda app: setattr(app.clock, "source", lambda: NOW)  # noqa: E731
    async with running_bot(settings, setup=setup):
        await client.send("/stats")
        await client.wait_for_message(t("admin.denied", lang))
        forged = StatsCb(action=StatsAction.show, period="month").pack()
        await client.press_data(forged)
        answer = await client.wait_for_callback_answer()
        assert answer.get("text") == t("admin.denied", lang)

        for bad, reason in (
            ("yesterday", "format"),
            ("31.02-01.03", "date"),
            ("10.03.2031-01.03.2031", "order"),
            # Dates outside the product's range: no traceback, the same clear refusal.
            ("31.12.9999-31.12.9999", "date"),
            ("01.01.0001-07.01.0001", "date"),
            ("01.01.1999-02.01.1999", "date"),
            ("01.01.2100-02.01.2100", "date"),
        ):
            await admin.send(f"/stats {bad}")
            refusal = await admin.wait_for_message(t(f"stats.bad_period.{reason}", lang))
            assert t("stats.usage", lang) in (refusal.text or "")

        await admin.send("/stats week")  # Monday 31.03: the week is one day so far
        everyone = t("stats.scope.all", lang)
        title = t("stats.title", lang, scope=everyone, first="31.03.2031", last="31.03.2031")
        screen = await admin.wait_for_message(title)
        for data in (
            "st:show:2031-03-01:0:0",  # a period token no button carries
            StatsCb(action=StatsAction.show, period="month", location_id=999_999).pack(),
            StatsCb(action=StatsAction.files, period="month", specialist_id=999_999).pack(),
        ):
            await admin.press_data(data, message_id=screen.message_id)
            answer = await admin.wait_for_callback_answer()
            assert answer.get("text") == t("stats.stale", lang)
    assert await row_counts(session_factory) == before


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_the_admin_menu_opens_this_month_and_takes_a_typed_period(
    lang: str,
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await stats_data.build(session_factory)
    before = await row_counts(session_factory)
    admin = emulator.user(ADMIN, "Owner", language_code=lang)
    setup = lambda app: setattr(app.clock, "source", lambda: NOW)  # noqa: E731
    async with running_bot(make_bot_settings(admin_ids=[ADMIN]), setup=setup):
        await admin.send("/admin")
        await admin.wait_for_message(t("admin.menu.title", lang))
        await admin.press(t("stats.menu", lang))
        everyone = t("stats.scope.all", lang)
        title = t("stats.title", lang, scope=everyone, first="01.03.2031", last="31.03.2031")
        shown = await admin.wait_for_message(title)
        # March: a0-a3, a6, a7 and b1 are held (a4, a5 and a8 were cancelled).
        assert t("stats.held", lang, held=7, completed=4, no_shows=1) in (shown.text or "")
        assert t("stats.type_period", lang) in (shown.text or "")

        # A wrong period: the /stats refusal with the format; the screen still takes a period.
        for bad, reason in (("yesterday", "format"), ("31.02-01.03", "date")):
            await admin.send(bad)
            refusal = await admin.wait_for_message(t(f"stats.bad_period.{reason}", lang))
            assert (
                refusal.text == f"{t(f'stats.bad_period.{reason}', lang)}\n{t('stats.usage', lang)}"
            )

        await admin.send("24.03-30.03")
        week = await admin.wait_for_message(
            t("stats.title", lang, scope=everyone, first="24.03.2031", last="30.03.2031")
        )
        assert t("stats.bookings_made", lang, count=6) in (week.text or "")

        # After a scope button, a typed period keeps that scope (the location "Центр").
        await admin.press("Центр")
        await admin.wait_for_message(
            t("stats.title", lang, scope="Центр", first="24.03.2031", last="30.03.2031")
        )
        await admin.send("24.03-30.03")
        narrowed = await admin.wait_for_message(
            lambda m: m.message_id > week.message_id
            and (m.text or "").startswith(
                t("stats.title", lang, scope="Центр", first="24.03.2031", last="30.03.2031")
            )
            and m.find_button("• Центр") is not None
        )
        assert t("stats.bookings_made", lang, count=5) in (narrowed.text or "")
        assert not emulator.calls_to("sendPhoto", chat_id=ADMIN)
    assert await row_counts(session_factory) == before
