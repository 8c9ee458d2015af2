"""A scripted in-memory sender for worker tests (the e2e tests use the Bot API emulator)."""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from dataclasses import dataclass, field

from aiogram.types import InlineKeyboardMarkup

from bot.notify.sender import Outcome, Sent


@dataclass
class FakeSender:
    """Records every accepted message; `script` forces outcomes (per chat, in order); `gate`,
    when set, holds every send until it opens (to freeze a worker between claim and mark)."""

    sent: list[tuple[int, str, InlineKeyboardMarkup | None]] = field(default_factory=list)
    script: dict[int, deque[Outcome]] = field(default_factory=dict)
    gate: asyncio.Event | None = None
    entered: asyncio.Event = field(default_factory=asyncio.Event)
    calls: int = 0

    def fail(self, chat_id: int, *outcomes: Outcome) -> None:
        self.script.setdefault(chat_id, deque()).extend(outcomes)

    async def send(
        self,
        chat_id: int,
        text: str,
        reply_markup: InlineKeyboardMarkup | None = None,
        *,
        deadline: float | None = None,
    ) -> Outcome:
        self.calls += 1
        self.entered.set()
        if self.gate is not None:
            await self.gate.wait()
        queue = self.script.get(chat_id)
        if queue:
            return queue.popleft()
        self.sent.append((chat_id, text, reply_markup))
        return Sent(message_id=len(self.sent))

    def per_chat(self) -> Counter[int]:
        return Counter(chat for chat, _, _ in self.sent)
