"""What an admin types, through the real bot and the emulator, in Russian and English: names
in quotes are one phrase for every free-text argument, amounts are read by one set of rules (a
Unicode minus is a minus; a negative top-up is "must be positive", not "not a number"), and
every wrong value is answered with the rule and the expected format again."""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.emulator.server import BotAPIEmulator
from db.models import Client, Specialist
from tests.e2e.booking_support import booking_bot, t, wallet_of
from tests.e2e.test_admin import ADMIN_TG, set_client
from tests.e2e.test_admin_desk import open_menu, owner
from tests.integration.factories import make_catalog, make_client
from tests.money import rub

pytestmark = pytest.mark.usefixtures("clean_db", "redis")


def usage(command: str, lang: str) -> str:
    return f"{t(f'admin.usage.{command}', lang)}\n{t('admin.usage.client_hint', lang)}"


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_names_in_quotes_are_one_phrase_everywhere(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
    lang: str,
) -> None:
    cat = await make_catalog(session_factory, specialist_tg_ids=False)
    admin = await owner(emulator, session_factory, lang)
    anna = await make_client(session_factory)
    await set_client(session_factory, anna, first_name="Anna", last_name="Petrova")
    async with session_factory() as s, s.begin():
        spec = await s.get(Specialist, cat.specialist_ids[0])
        assert spec is not None
        spec.name = "Maria Ivanova"
    async with booking_bot(make_bot_settings):
        for typed in ('"Anna Petrova"', "«Anna Petrova»", "“Anna Petrova”"):
            await admin.send(f"/client {typed}")
            card = await admin.wait_for_message()
            assert card.text is not None
            assert card.text.startswith(t("admin.card.title", lang, name="Anna Petrova"))

        await admin.send('/topup "Anna Petrova" 100 cash')
        await admin.wait_for_message(
            t(
                "admin.topup.done",
                lang,
                amount="+" + rub(100, lang),
                client="Anna Petrova",
                balance=rub(100, lang),
            )
        )
        await admin.send('/invite "Maria Ivanova"')
        await admin.wait_for_message("https://t.me/booking_test_bot?start=spec_")
        await admin.send("/day 04.03 «Maria Ivanova»")
        await admin.wait_for_message(
            t("admin.day.title", lang, title="Maria Ivanova", date="04.03.2031")
        )

        # The Clients screen's typed search reads quotes the same way.
        await open_menu(admin, lang, "admin.menu.clients")
        await admin.wait_for_message(t("admin.clients.title_card", lang))
        await admin.send('"Anna Petrova"')
        await admin.wait_for_message(
            t("admin.clients.found", lang, query='"Anna Petrova"', count=1)
        )


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_amounts_signs_and_wrong_values_repeat_the_format(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
    lang: str,
) -> None:
    admin = await owner(emulator, session_factory, lang)
    anna = await make_client(session_factory, balance=Decimal("1000"))
    await set_client(session_factory, anna, first_name="Anna", username="anna_p")
    async with booking_bot(make_bot_settings):

        async def answer(text: str) -> str:
            await admin.send(text)
            reply = await admin.wait_for_message()
            return reply.text or ""

        positive = t("admin.input.amount_not_positive", lang)
        # A negative top-up is told as what it is, with the usage line again.
        for typed in ("/topup @anna_p -500", "/topup @anna_p −500"):
            assert await answer(typed) == f"{positive}\n{usage('topup', lang)}"
        assert await answer("/topup @anna_p 15OO") == (
            f"{t('admin.input.amount_format', lang)}\n{usage('topup', lang)}"
        )
        # A number of 30 digits is "too large" like any other, on a shortcut and as an answer.
        huge = "1" + "0" * 30
        too_large = await answer("/topup @anna_p 1000001")
        assert too_large.startswith(t("admin.input.amount_too_large", lang, limit="")[:8])
        assert await answer(f"/topup @anna_p {huge}") == too_large
        assert await answer(f"/adjust @anna_p -{huge} typo") == too_large.replace(
            usage("topup", lang), usage("adjust", lang)
        )
        assert await answer("/discount @anna_p 150") == (
            f"{t('admin.input.percent_range', lang)}\n{usage('discount', lang)}"
        )
        assert await answer("/adjust @anna_p -200") == (
            f"{t('admin.input.text_empty', lang)}\n{usage('adjust', lang)}"
        )
        # A Unicode minus (or a dash) in an adjustment is a minus.
        assert await answer("/adjust @anna_p −200 till error") == t(
            "admin.adjust.done", lang, amount=rub(-200, lang), client="Anna", balance=rub(800, lang)
        )
        assert await answer("/adjust @anna_p –100 till error") == t(
            "admin.adjust.done", lang, amount=rub(-100, lang), client="Anna", balance=rub(700, lang)
        )

        # Typed on the card: the rule, then the question again; the state stays.
        await admin.send("/client @anna_p")
        await admin.wait_for_message(t("admin.card.title", lang, name="Anna"))
        await admin.press(t("admin.btn.topup", lang))
        await admin.wait_for_message(t("admin.topup.ask", lang))
        assert await answer("−500") == f"{positive}\n{t('admin.topup.ask', lang)}"
        assert await answer("abc") == (
            f"{t('admin.input.amount_format', lang)}\n{t('admin.topup.ask', lang)}"
        )
        assert await answer("300 cash") == t(
            "admin.topup.done",
            lang,
            amount="+" + rub(300, lang),
            client="Anna",
            balance=rub(1000, lang),
        )
        await admin.press(t("admin.btn.adjust", lang))
        await admin.wait_for_message(t("admin.adjust.ask", lang))
        assert await answer("−50") == (
            f"{t('admin.input.text_empty', lang)}\n{t('admin.adjust.ask', lang)}"
        )
        assert await answer("0 typo") == (
            f"{t('admin.input.amount_zero', lang)}\n{t('admin.adjust.ask', lang)}"
        )
        assert await answer("−50 typo") == t(
            "admin.adjust.done", lang, amount=rub(-50, lang), client="Anna", balance=rub(950, lang)
        )
        await admin.press(t("admin.btn.disc", lang))
        await admin.wait_for_message(t("admin.discount.ask", lang))
        assert await answer("-5") == (
            f"{t('admin.input.percent_range', lang)}\n{t('admin.discount.ask', lang)}"
        )
        await admin.press(t("admin.btn.notes", lang))
        await admin.wait_for_message(t("admin.notes.ask", lang))
        assert await answer("x" * 1001) == (
            f"{t('admin.input.text_too_long', lang, limit=1000)}\n{t('admin.notes.ask', lang)}"
        )

        await open_menu(admin, lang, "admin.menu.book")
        await admin.wait_for_message(t("admin.clients.title_book", lang))
        await admin.press(t("admin.btn.new_client", lang))
        await admin.wait_for_message(t("admin.new_client.ask", lang))
        assert await answer("Walk In +7 000") == (
            f"{t('admin.input.phone_invalid', lang)}\n{t('admin.new_client.ask', lang)}"
        )
        # A phone alone has no name (not a client named "+7" or "8"); nor has a name of
        # zero-width or blank-looking characters.
        for phone_only in ("+7 916 000-00-09", "8 916 000 00 09"):
            assert await answer(phone_only) == (
                f"{t('admin.input.name_empty', lang)}\n{t('admin.new_client.ask', lang)}"
            )
        for blank in ("\u200b", "\u3164\u200d"):
            assert await answer(f"{blank} +79160000009") == (
                f"{t('admin.input.name_empty', lang)}\n{t('admin.new_client.ask', lang)}"
            )
    async with session_factory() as s:
        assert await s.scalar(select(Client).where(Client.phone == "+79160000009")) is None
    balance, ledger = await wallet_of(session_factory, anna)
    assert balance == Decimal("950.00")
    assert [r.amount for r in ledger] == [
        Decimal("1000.00"),
        Decimal("-200.00"),
        Decimal("-100.00"),
        Decimal("300.00"),
        Decimal("-50.00"),
    ]
    assert ADMIN_TG


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_digits_that_are_no_id_and_impossible_dates_are_told_so(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
    lang: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """ "#²" or "²³" (characters Python calls digits, but no number) find nobody, typed as a
    shortcut's client or in the Clients search; an impossible /day date gets the date rule and
    the usage line, and so do empty quotes; nothing is logged as an error."""
    caplog.set_level(logging.WARNING)
    admin = await owner(emulator, session_factory, lang)
    await make_client(session_factory)
    async with booking_bot(make_bot_settings):

        async def answer(text: str) -> str:
            await admin.send(text)
            reply = await admin.wait_for_message()
            return reply.text or ""

        for query in ("#²", "²³", "#①"):
            assert await answer(f"/client {query}") == t("admin.clients.none", lang, query=query)
        # Empty quotes name nobody: the usage line, as with no argument at all.
        for typed in ('/client ""', "/client «»", '/invite ""'):
            command = typed.split()[0][1:]
            assert await answer(typed) == await answer(f"/{command}")
        await admin.send('/day 04.03 ""')
        await admin.wait_for_message(
            lambda m: m.find_button(t("admin.btn.by_specialist", lang)) is not None
        )
        day_rule = f"{t('admin.input.date_format', lang)}\n{t('admin.usage.day', lang)}"
        for typed in ("31.02", "24.13", "01.01.9999"):
            assert await answer(f"/day {typed}") == day_rule

        await open_menu(admin, lang, "admin.menu.clients")
        await admin.wait_for_message(t("admin.clients.title_card", lang))
        await admin.send("²³")
        await admin.wait_for_message(t("admin.clients.none", lang, query="²³"))
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_add_admin_tells_a_wrong_id_from_a_hidden_sender_and_lists_names(
    emulator: BotAPIEmulator,
    make_bot_settings: Callable[..., Settings],
    session_factory: async_sessionmaker[AsyncSession],
    lang: str,
) -> None:
    admin = await owner(emulator, session_factory, lang)
    anna_tg, stranger_tg = 700_600_001, 555_700_001
    anna = await make_client(session_factory, tg_id=anna_tg)
    await set_client(session_factory, anna, first_name="Anna", username="anna_p")
    hidden = emulator.user(555_700_002, "Hidden", language_code=lang)
    not_an_id = t("admin.input.tg_id", lang)
    ask = t("admin.admins.ask", lang)
    async with booking_bot(make_bot_settings):

        async def answer(text: str) -> str:
            await admin.send(text)
            return (await admin.wait_for_message()).text or ""

        await open_menu(admin, lang, "admin.menu.admins")
        await admin.wait_for_message(t("admin.admins.title", lang))
        await admin.press(t("admin.btn.add_admin", lang))
        await admin.wait_for_message(ask)
        for typed in ("anna", "12ab", "0", "-5", "9" * 20, "１２３"):
            assert await answer(typed) == f"{not_an_id}\n{ask}", typed
        # Only a forward that hides its sender gets the privacy explanation.
        await admin.forward("hi", hidden, hidden=True)
        assert (await admin.wait_for_message()).text == t("admin.admins.ask_again", lang)
        assert await answer(str(anna_tg)) == t("admin.admins.done_add", lang, tg_id=anna_tg)

        usage_line = t("admin.usage.addadmin", lang)
        assert await answer("/addadmin anna") == f"{not_an_id}\n{usage_line}"
        assert await answer(f"/addadmin {2**53 + 1}") == f"{not_an_id}\n{usage_line}"
        assert await answer("/addadmin") == usage_line
        assert await answer(f"/addadmin {stranger_tg}") == t(
            "admin.admins.done_add", lang, tg_id=stranger_tg
        )

        # Known accounts by name and @username (id in brackets), unknown ones by id.
        await open_menu(admin, lang, "admin.menu.admins")
        listed = await admin.wait_for_message(t("admin.admins.title", lang))
        lines = (listed.text or "").splitlines()
        olga = f"Olga ({ADMIN_TG})"
        assert t("admin.admins.permanent", lang, who=olga) in lines
        assert (
            t("admin.admins.added", lang, who=f"Anna (@anna_p, {anna_tg})", added_by=olga) in lines
        )
        assert t("admin.admins.added", lang, who=str(stranger_tg), added_by=olga) in lines
        assert listed.find_button(
            t("admin.btn.remove_admin", lang, who=f"Anna (@anna_p, {anna_tg})")
        )
        assert listed.find_button(t("admin.btn.remove_admin", lang, who=str(stranger_tg)))
