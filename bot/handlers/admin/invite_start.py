"""`/start spec_<token>`: a specialist opens the invite link an admin sent them."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import CommandObject, CommandStart
from aiogram.types import Message
from dishka import FromDishka

from bot.domain.errors import InviteRejected
from bot.i18n import Translator
from bot.ioc.types import Now
from bot.services.admin.invites import START_PREFIX, InviteService


async def on_invite_start(
    message: Message,
    command: CommandObject,
    i18n: Translator,
    invites: FromDishka[InviteService],
    now: FromDishka[Now],
) -> None:
    if message.from_user is None:
        return
    token = (command.args or "").removeprefix(START_PREFIX)
    try:
        linked = await invites.redeem(token, tg_id=message.from_user.id, now=now)
    except InviteRejected as exc:
        await message.answer(i18n(f"spec.invite.{exc.reason.value}"))
        return
    await message.answer(i18n("spec.invite.ok", name=linked.name))


def register(router: Router) -> None:
    router.message.register(
        on_invite_start, CommandStart(deep_link=True), F.text.contains(f" {START_PREFIX}")
    )
