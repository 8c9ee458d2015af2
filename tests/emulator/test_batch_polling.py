"""Long polling by batches (`bot.ops.batch_polling`): users at once, each user in order, the
batch acknowledged only once all of it is handled."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from aiogram import Bot, Router
from aiogram.dispatcher.dispatcher import DEFAULT_BACKOFF_CONFIG
from aiogram.types import Chat, Message, Update, User
from aiogram.utils.backoff import BackoffConfig

from bot.emulator import BotAPIEmulator
from bot.ops.batch_polling import BatchDispatcher, lanes_of
from bot.ops.polling_log import AIOGRAM_DISPATCHER, PollingOutageLog


class Recorder:
    """Handlers that note what began and what finished; a text starting with "wait" blocks
    until `release(text)`."""

    def __init__(self) -> None:
        self.began: list[tuple[int, str]] = []
        self.finished: list[tuple[int, str]] = []
        self.gates: dict[str, asyncio.Event] = {}
        self.changed = asyncio.Event()

    def gate(self, text: str) -> asyncio.Event:
        return self.gates.setdefault(text, asyncio.Event())

    def release(self, text: str) -> None:
        self.gate(text).set()

    async def handle(self, message: Message) -> None:
        assert message.from_user is not None and message.text is not None
        entry = (message.from_user.id, message.text)
        self.began.append(entry)
        self._changed()
        if message.text.startswith("wait"):
            await self.gate(message.text).wait()
        self.finished.append(entry)
        self._changed()

    def _changed(self) -> None:
        self.changed.set()
        self.changed = asyncio.Event()

    async def until(self, check: Callable[[], bool]) -> None:
        async def wait() -> None:
            while not check():
                await self.changed.wait()

        await asyncio.wait_for(wait(), 10)


def dispatcher(recorder: Recorder, *, max_lanes: int = 40) -> BatchDispatcher:
    dp = BatchDispatcher(max_lanes=max_lanes)
    router = Router()
    router.message.register(recorder.handle)
    dp.include_router(router)
    return dp


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


async def polling(
    dp: BatchDispatcher, bot: Bot, backoff: BackoffConfig = DEFAULT_BACKOFF_CONFIG
) -> asyncio.Task[None]:
    return asyncio.create_task(
        dp.start_polling(
            bot,
            handle_signals=False,
            close_bot_session=False,
            polling_timeout=1,
            backoff_config=backoff,
        )
    )


def message_update(update_id: int, user_id: int | None, text: str) -> Update:
    user = User(id=user_id, is_bot=False, first_name="U") if user_id is not None else None
    chat = Chat(id=user_id or -100, type="private" if user_id else "channel")
    message = Message(
        message_id=update_id, date=datetime.now(UTC), chat=chat, from_user=user, text=text
    )
    return Update(update_id=update_id, message=message)


def test_lanes_split_a_batch_by_user_keeping_each_users_order() -> None:
    batch = [
        message_update(1, 10, "a"),
        message_update(2, 20, "b"),
        message_update(3, None, "post"),
        message_update(4, 10, "c"),
        message_update(5, None, "post 2"),
    ]
    lanes = [[u.update_id for u in lane] for lane in lanes_of(batch)]
    assert lanes == [[1, 4], [2], [3, 5]]


def test_max_lanes_must_allow_a_lane() -> None:
    with pytest.raises(ValueError, match="max_lanes"):
        BatchDispatcher(max_lanes=0)


async def test_users_run_at_once_each_in_order_and_the_batch_is_acknowledged_when_all_are_done(
    emulator: BotAPIEmulator, bot: Bot, recorder: Recorder
) -> None:
    ann, ben = emulator.user(11, "Ann"), emulator.user(12, "Ben")
    slow = await ann.send("wait ann")
    after = await ann.send("after")
    quick = await ben.send("hi")
    dp = dispatcher(recorder)
    task = await polling(dp, bot)
    try:
        # Ben is answered while Ann's first update still runs; her second waits for it.
        await recorder.until(lambda: (12, "hi") in recorder.finished)
        assert recorder.began == [(11, "wait ann"), (12, "hi")]
        # Nothing of the batch is acknowledged while part of it runs.
        pending = [u["update_id"] for u in emulator.pending_updates()]
        assert pending == [slow, after, quick]

        recorder.release("wait ann")
        await recorder.until(lambda: len(recorder.finished) == 3)
        assert [e for e in recorder.finished if e[0] == 11] == [(11, "wait ann"), (11, "after")]
        await emulator.wait_for(lambda: not emulator.pending_updates())
    finally:
        await dp.stop_polling()
        await asyncio.wait_for(task, 10)


async def test_a_batch_stopped_in_the_middle_stays_unacknowledged(
    emulator: BotAPIEmulator, bot: Bot, recorder: Recorder
) -> None:
    ann, ben = emulator.user(11, "Ann"), emulator.user(12, "Ben")
    sent = [await ann.send("wait forever"), await ben.send("hi")]
    dp = dispatcher(recorder)
    task = await polling(dp, bot)
    await recorder.until(lambda: (12, "hi") in recorder.finished)
    await dp.stop_polling()  # cancels the batch, as a stop past its grace or a kill would
    await asyncio.wait_for(task, 10)
    assert recorder.finished == [(12, "hi")]
    # Telegram delivers all of it again (the dedupe skips Ben's, which was done).
    assert [u["update_id"] for u in emulator.pending_updates()] == sent


async def test_no_more_lanes_run_at_once_than_allowed(
    emulator: BotAPIEmulator, bot: Bot, recorder: Recorder
) -> None:
    users = [emulator.user(20 + i, f"U{i}") for i in range(3)]
    for i, user in enumerate(users):
        await user.send(f"wait {i}")
    dp = dispatcher(recorder, max_lanes=2)
    task = await polling(dp, bot)
    try:
        await recorder.until(lambda: len(recorder.began) == 2)
        assert recorder.began == [(20, "wait 0"), (21, "wait 1")]
        recorder.release("wait 1")  # a lane ends: the third one takes its place
        await recorder.until(lambda: len(recorder.began) == 3)
        assert recorder.began[2] == (22, "wait 2")
        assert recorder.finished == [(21, "wait 1")]
        recorder.release("wait 0")
        recorder.release("wait 2")
        await emulator.wait_for(lambda: not emulator.pending_updates())
    finally:
        await dp.stop_polling()
        await asyncio.wait_for(task, 10)


async def test_a_failing_get_updates_is_retried_and_folded_by_the_outage_log(
    emulator: BotAPIEmulator,
    bot: Bot,
    recorder: Recorder,
    caplog: pytest.LogCaptureFixture,
) -> None:
    emulator.fail_next("getUpdates", status=502, count=2)
    ann = emulator.user(11, "Ann")
    await ann.send("hi")
    outage = PollingOutageLog()
    aiogram_log = logging.getLogger(AIOGRAM_DISPATCHER)
    aiogram_log.addFilter(outage)
    dp = dispatcher(recorder)
    caplog.set_level(logging.INFO)
    task = await polling(dp, bot, BackoffConfig(0.01, 0.02, 1.1, 0.0))
    try:
        await recorder.until(lambda: recorder.finished == [(11, "hi")])
    finally:
        await dp.stop_polling()
        await asyncio.wait_for(task, 10)
        aiogram_log.removeFilter(outage)
    said = [r.getMessage() for r in caplog.records if r.name == "bot.polling"]
    assert len(said) == 2, said
    assert said[0].startswith("Long polling gets no answer from Telegram")
    assert said[1].startswith("Long polling reaches Telegram again") and "2 failed" in said[1]
