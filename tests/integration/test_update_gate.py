"""The update gate and the one-key FSM storage on the real Redis, through a real aiogram
Dispatcher (updates fed in, no Telegram): each update once, a failed one again, the
conversation read once and written once, conversations of aiogram's RedisStorage carried over,
and what dedupe leaves in Redis."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from aiogram import Bot, Dispatcher, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.storage.base import DefaultKeyBuilder, StorageKey
from aiogram.fsm.storage.memory import SimpleEventIsolation
from aiogram.types import Chat, Message, Update, User
from redis.asyncio import Redis

from bench.redis_commands import CommandLog
from bot.middlewares import OneKeyRedisStorage, ThrottlingMiddleware, UpdateGate
from bot.middlewares.dedupe import DONE_TTL_SECONDS
from bot.ops import observe

BOT = Bot("42:TEST")
USER = 777
NOTE = {"1": "int keys become text, as in JSON"}


class Harness:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self.also: list[Any] = []
        self.redis = redis
        self.prefix = prefix
        builder = DefaultKeyBuilder(prefix=f"{prefix}:fsm", with_destiny=True)
        self.storage = OneKeyRedisStorage(redis, builder, ttl_seconds=600)
        self.dp = Dispatcher(
            storage=self.storage, events_isolation=SimpleEventIsolation(), disable_fsm=True
        )
        throttle = ThrottlingMiddleware(redis, prefix, rate_per_second=1000, burst=100)
        observe.install(self.dp)
        self.dp.update.outer_middleware(
            UpdateGate(
                redis,
                prefix,
                storage=self.storage,
                events_isolation=SimpleEventIsolation(),
                throttle=throttle,
                profile_key=lambda tg_id: f"{prefix}:profile:{tg_id}",
                also_read=(f"{prefix}:version", self.also.append),
            )
        )
        self.dp.update.outer_middleware(throttle)
        self.calls: list[tuple[int, str | None, dict[str, Any]]] = []
        self.fail = False
        router = Router()
        router.message.register(self.step, Command("step"))
        router.message.register(self.look)
        self.dp.include_router(router)

    async def step(self, message: Message, state: FSMContext, raw_state: str | None) -> None:
        """A flow step: reads the conversation several times, changes state and data."""
        data = await state.get_data()
        assert await state.get_state() == raw_state
        count = int(data.get("count", 0)) + 1
        await state.update_data({1: NOTE["1"]}, count=count)
        await state.set_state("Flow:step")
        self.calls.append((message.message_id, raw_state, await state.get_data()))
        if self.fail:
            raise RuntimeError("handler failed")

    async def look(self, message: Message, state: FSMContext) -> None:
        self.calls.append((message.message_id, await state.get_state(), await state.get_data()))

    async def feed(self, update_id: int, text: str = "/step", user: int = USER) -> None:
        message = Message(
            message_id=update_id,
            date=datetime.now(UTC),
            chat=Chat(id=user, type="private"),
            from_user=User(id=user, is_bot=False, first_name="Ann"),
            text=text,
        )
        await self.dp.feed_update(BOT, Update(update_id=update_id, message=message))

    def key(self, user: int = USER) -> StorageKey:
        return StorageKey(bot_id=BOT.id, chat_id=user, user_id=user)


@pytest.fixture
def harness(redis: Redis, redis_prefix: str) -> Harness:
    return Harness(redis, redis_prefix)


async def test_each_update_once_and_the_conversation_carries_on(harness: Harness) -> None:
    await harness.feed(1)
    await harness.feed(1)  # a redelivery
    await harness.feed(2)
    assert [(c[0], c[1], c[2]["count"]) for c in harness.calls] == [
        (1, None, 1),
        (2, "Flow:step", 2),
    ]
    # Read back as JSON, as aiogram's RedisStorage does: int keys come back as text.
    assert harness.calls[0][2] == {"count": 1, **NOTE}
    assert await harness.storage.get_state(harness.key()) == "Flow:step"


async def test_an_update_older_than_the_users_watermark_is_a_duplicate(harness: Harness) -> None:
    await harness.feed(10)
    await harness.feed(11)
    await harness.feed(10)  # a redelivery after a later update was handled
    assert [c[0] for c in harness.calls] == [10, 11]


async def test_a_failed_update_runs_again_even_after_a_later_one(harness: Harness) -> None:
    harness.fail = True
    with pytest.raises(RuntimeError):
        await harness.feed(20)
    harness.fail = False
    await harness.feed(21)
    assert await harness.redis.get(f"{harness.prefix}:update:20") == b"failed"
    await harness.feed(20)  # redelivered: runs again
    assert not await harness.redis.exists(f"{harness.prefix}:update:20")
    await harness.feed(20)  # and only once more
    assert [c[0] for c in harness.calls] == [20, 21, 20]
    # What the failed handler wrote stays written (as writes sent one by one would).
    assert [c[2]["count"] for c in harness.calls] == [1, 2, 3]


async def test_one_script_in_one_out_however_often_the_handler_reads(harness: Harness) -> None:
    await harness.feed(30)  # loads the scripts
    log = CommandLog()
    with log.attach(harness.redis):
        await harness.feed(31)
        await harness.feed(32, text="hello")  # reads only
    assert log.per_update() == {31: ["EVALSHA", "EVALSHA"], 32: ["EVALSHA", "EVALSHA"]}


async def test_the_conversation_is_one_hash_with_one_ttl(harness: Harness) -> None:
    await harness.feed(40)
    key = f"{harness.prefix}:fsm:{USER}:{USER}:default"
    assert set(await harness.redis.hkeys(key)) == {b"state", b"data"}
    assert 0 < await harness.redis.pttl(key) <= 600_000
    await harness.storage.set_state(harness.key(), None)
    await harness.storage.set_data(harness.key(), {})
    assert not await harness.redis.exists(key)


async def test_a_conversation_of_aiograms_redis_storage_is_carried_over(
    harness: Harness,
) -> None:
    old = f"{harness.prefix}:fsm:{USER}:{USER}:default"
    await harness.redis.set(f"{old}:state", "Flow:old", ex=600)
    await harness.redis.set(f"{old}:data", '{"count": 5}', ex=600)
    await harness.feed(50)
    assert harness.calls[0][1:] == ("Flow:old", {"count": 6, **NOTE})
    assert not await harness.redis.exists(f"{old}:state", f"{old}:data")
    assert await harness.storage.get_data(harness.key()) == harness.calls[0][2]


async def test_dedupe_leaves_one_watermark_per_user_not_a_key_per_update(
    harness: Harness,
) -> None:
    for update_id in range(100, 150):
        await harness.feed(update_id, text="hello", user=USER + update_id % 5)
    keys = sorted([k.decode() async for k in harness.redis.scan_iter(match=f"{harness.prefix}:*")])
    users = [USER + n for n in range(5)]
    assert keys == sorted(
        [f"{harness.prefix}:seen:{u}" for u in users]
        + [f"{harness.prefix}:throttle:bucket:{u}" for u in users]
    )
    assert await harness.redis.get(f"{harness.prefix}:seen:{USER}") == b"145"
    ttl = await harness.redis.pttl(f"{harness.prefix}:seen:{USER}")
    assert DONE_TTL_SECONDS * 1000 - 60_000 < ttl <= DONE_TTL_SECONDS * 1000


async def test_one_more_key_comes_with_the_opening_script(harness: Harness) -> None:
    await harness.feed(60, text="hello")
    await harness.redis.set(f"{harness.prefix}:version", 7)
    await harness.feed(61, text="hello")
    await harness.feed(61, text="hello")  # a duplicate: nothing handed over
    assert harness.also == [None, b"7"]
