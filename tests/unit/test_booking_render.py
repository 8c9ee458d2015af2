"""Booking flow formatting and buttons: money, local times, labels, callback data size."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from bot.handlers.render_booking import (
    SummaryFacts,
    short_when,
    summary_text,
    time_buttons,
)
from bot.i18n import Translator
from bot.keyboards.booking import (
    DATES_PER_PAGE,
    BookAction,
    BookCb,
    BookStep,
    dates_keyboard,
    summary_keyboard,
)
from bot.keyboards.fields import END_TIMESTAMP
from bot.services.change_policy import ChangePolicy
from tests.money import rub


def test_time_buttons_are_local_24h() -> None:
    tz = ZoneInfo("Europe/Moscow")
    start = datetime(2031, 3, 3, 15, 30, tzinfo=UTC)  # 18:30 in Moscow
    assert time_buttons([start], tz) == [(int(start.timestamp()), "18:30")]


def test_callback_data_fits_telegram_limit() -> None:
    largest = END_TIMESTAMP - 1  # the largest value a booking button may carry
    packed = BookCb(flow="ffffffff", step=BookStep.TIME, action=BookAction.PICK, value=largest)
    assert len(packed.pack().encode()) <= 64
    assert BookCb.unpack(packed.pack()).value == largest


@pytest.mark.parametrize(("locale", "weekday"), [("ru", "Пн"), ("en", "Mon")])
def test_date_buttons_show_ddmm_and_weekday_and_page(locale: str, weekday: str) -> None:
    i18n = Translator(locale)
    days = [date(2031, 3, 3) + timedelta(days=i) for i in range(DATES_PER_PAGE + 3)]
    first = dates_keyboard("f", days, 0, i18n, back=True)
    labels = [b.text for row in first.inline_keyboard for b in row]
    assert f"03.03 {weekday}" in labels
    assert i18n("booking.btn.next") in labels and i18n("booking.btn.prev") not in labels
    second = dates_keyboard("f", days, 1, i18n, back=True)
    labels2 = [b.text for row in second.inline_keyboard for b in row]
    assert days[-1].strftime("%d.%m") in " ".join(labels2)
    assert i18n("booking.btn.prev") in labels2 and i18n("booking.btn.next") not in labels2


@pytest.mark.parametrize(("locale", "word"), [("ru", "Подтвердить"), ("en", "Confirm")])
def test_confirm_button_text(locale: str, word: str) -> None:
    kb = summary_keyboard("f", Translator(locale))
    assert word in kb.inline_keyboard[0][0].text


def summary_facts(start: datetime, *, balance: Decimal, free_now: bool = True) -> SummaryFacts:
    return SummaryFacts(
        location="Center",
        address="Main st 1",
        tz=ZoneInfo("Europe/Moscow"),
        service="Haircut",
        duration_min=60,
        specialist="Anna",
        any_specialist=True,
        start=start,
        price=Decimal("1000"),
        discount_percent=Decimal("10"),
        discount=Decimal("100"),
        charge=Decimal("900"),
        balance=balance,
        hold_expires_at=start - timedelta(hours=1),
        hold_ttl_seconds=600,
        policy=ChangePolicy(
            free_until=start - timedelta(hours=24),
            free_now=free_now,
            late_refund_percent=0,
            free_cancel_hours=24,
        ),
        today=date(2031, 3, 1),
    )


@pytest.mark.parametrize("locale", ["ru", "en"])
def test_a_short_summary_shows_the_balance_and_what_is_missing_never_a_balance_after(
    locale: str,
) -> None:
    """Item 3: "balance after payment: 0" above "1800 missing" contradicted itself."""
    i18n = Translator(locale)
    start = datetime(2031, 3, 4, 7, 0, tzinfo=UTC)
    short = summary_text(summary_facts(start, balance=Decimal("500")), "RUB", i18n)
    assert (
        i18n("booking.summary.short", balance=rub(500, locale), missing=rub(400, locale)) in short
    )
    assert i18n("booking.summary.after", balance=rub(0, locale)) not in short
    enough = summary_text(summary_facts(start, balance=Decimal("2000")), "RUB", i18n)
    assert i18n("booking.summary.after", balance=rub(1100, locale)) in enough
    assert rub(400, locale) not in enough


@pytest.mark.parametrize("locale", ["ru", "en"])
def test_the_summary_states_the_policy_before_the_money(locale: str) -> None:
    i18n = Translator(locale)
    start = datetime(2031, 3, 4, 7, 0, tzinfo=UTC)  # Tue 04.03 10:00 in Moscow
    free = summary_text(summary_facts(start, balance=Decimal("2000")), "RUB", i18n)
    deadline = short_when(start - timedelta(hours=24), ZoneInfo("Europe/Moscow"), i18n)
    assert "10:00" in deadline and "3" in deadline
    late = i18n("booking.policy.late_none")
    assert i18n("booking.policy.free", deadline=deadline, late=late) in free
    inside = summary_text(
        summary_facts(start, balance=Decimal("2000"), free_now=False), "RUB", i18n
    )
    assert i18n("booking.policy.not_free", hours=24, late=late) in inside
    assert deadline not in inside


def test_summary_shows_discount_balance_after_and_shortfall() -> None:
    tz = ZoneInfo("Europe/Moscow")
    start = datetime(2031, 3, 4, 7, 0, tzinfo=UTC)
    facts = SummaryFacts(
        location="Center",
        address="Main st 1",
        tz=tz,
        service="Haircut",
        duration_min=60,
        specialist="Anna",
        any_specialist=True,
        start=start,
        price=Decimal("1000"),
        discount_percent=Decimal("10"),
        discount=Decimal("100"),
        charge=Decimal("900"),
        balance=Decimal("500"),
        hold_expires_at=start - timedelta(hours=1),
        hold_ttl_seconds=600,
        policy=ChangePolicy(
            free_until=start - timedelta(hours=24),
            free_now=True,
            late_refund_percent=50,
            free_cancel_hours=24,
        ),
        today=date(2031, 3, 3),
    )
    text = summary_text(facts, "RUB", Translator("en"))
    assert "Center, Main st 1" in text
    # 07:00 UTC is 10:00 in Moscow, the day after `today`; the zone is named in words.
    assert "📅 Tomorrow, 10:00 (Moscow Time)" in text
    assert "Anna — your specialist" in text
    assert "to pay ₽900" in text
    assert "₽500, ₽400 missing" in text
    assert "Balance after" not in text
    deadline = short_when(start - timedelta(hours=24), tz, Translator("en"))
    assert f"until {deadline}; later: 50% refunded" in text
    assert deadline.startswith("Mon")
    assert "10 min" in text
