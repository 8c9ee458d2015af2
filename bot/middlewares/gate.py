"""The update gate: everything the middlewares need from Redis in one script call per update,
and everything they write in one more.

aiogram's FSM middleware, the dedupe, the profile cache and the throttle each asked Redis on
their own: about ten commands per update before a handler did anything. The gate takes the FSM
middleware's place (same lock, same `state`/`raw_state` for handlers and filters) and runs:

- on the way in, one script (`BEGIN`): claim the update (`bot.middlewares.dedupe`); then, only
  for an update it owns, take a throttle token (`bot.middlewares.throttling`), read the cached
  profile (`ClientService.profile_key`) and the conversation (`bot.middlewares.fsm`). The
  verdict and the profile go into the update's data for `ThrottlingMiddleware` and
  `I18nMiddleware`; the conversation into an `UpdateFrame` that serves every FSM read and
  collects every write while the handler runs (written before the handler's next request to
  Telegram, `bot.middlewares.fsm.FlushBeforeSend`);
- on the way out, one script (`END`): write what the handler changed in the conversation, and
  mark the update done (or re-admit it when the handler raised).

A duplicate that finds another process's running lease waits for it (see the dedupe module).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, cast

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.fsm.middleware import FSMContextMiddleware
from aiogram.fsm.storage.base import BaseEventIsolation
from aiogram.types import TelegramObject, Update, User
from redis.asyncio import Redis

from bot.middlewares import dedupe
from bot.middlewares.fsm import FSM_READ_LUA, FSM_WRITE_LUA, OneKeyRedisStorage, UpdateFrame
from bot.middlewares.i18n import CACHED_PROFILE
from bot.middlewares.lease import Heartbeat
from bot.middlewares.throttling import (
    THROTTLE_TAKE_LUA,
    VERDICT,
    ThrottlingMiddleware,
    takes_token,
)

log = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]

# KEYS: 1 lease, 2 watermark, 3 throttle bucket, 4 profile cache, 5 conversation hash, 6-7 its
# legacy keys, 8 one more key to read (the catalog version). ARGV: 1 has user ('1'/'0'),
# 2 update_id, 3 lease, 4 lease ms, 5 take a token ('1'/'0'), 6-9 throttle_take's rate, burst,
# TTL, now, 10 read the conversation ('1'/'0'), 11 read KEYS[8] ('1'/'0').
# Returns {claim} for an update not taken, else
# {'acquired', verdict, profile, state, data, KEYS[8]'s value}.
BEGIN = (
    dedupe.DEDUPE_CLAIM_LUA
    + THROTTLE_TAKE_LUA
    + FSM_READ_LUA
    + """
local claim = dedupe_claim(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], ARGV[4])
if claim ~= 'acquired' then return {claim} end
local verdict = 1
if ARGV[5] == '1' then
  verdict = throttle_take(KEYS[3], ARGV[6], ARGV[7], ARGV[8], ARGV[9])
end
local profile = false
if ARGV[1] == '1' then profile = redis.call('GET', KEYS[4]) end
local fsm = {false, false}
if ARGV[10] == '1' then fsm = fsm_read(KEYS[5], KEYS[6], KEYS[7]) end
local extra = false
if ARGV[11] == '1' then extra = redis.call('GET', KEYS[8]) end
return {claim, verdict, profile, fsm[1], fsm[2], extra}
"""
)
# KEYS: 1 lease, 2 watermark, 3 conversation hash, 4-5 its legacy keys.
# ARGV: 1 has user, 2 update_id, 3 lease, 4 ok ('1' done, '0' re-admit), 5 done TTL ms,
# 6 write the conversation ('1'/'0'), 7-10 fsm_write's state op, state, data op, data, 11 TTL ms.
END = (
    dedupe.DEDUPE_END_LUA
    + FSM_WRITE_LUA
    + """
if ARGV[6] == '1' then
  fsm_write(KEYS[3], KEYS[4], KEYS[5], ARGV[7], ARGV[8], ARGV[9], ARGV[10], ARGV[11])
end
return dedupe_end(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])
"""
)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class UpdateGate(FSMContextMiddleware):
    """Outer update middleware in place of aiogram's FSM middleware (after the drain gate).

    `throttle` supplies the bucket's parameters (its middleware acts on the verdict later);
    `profile_key(tg_id)` names the profile cache; `also_read` is one more key read in the same
    script and the callback handed its value (bytes or None) before the handler runs (the
    catalog version: `CatalogCache.adopt`); `lease_seconds` is the dedupe lease and
    `wait_poll_seconds` how often a duplicate looks at a running lease again.
    """

    def __init__(
        self,
        redis: Redis,
        prefix: str,
        *,
        storage: OneKeyRedisStorage,
        events_isolation: BaseEventIsolation,
        throttle: ThrottlingMiddleware,
        profile_key: Callable[[int], str],
        also_read: tuple[str, Callable[[Any], None]] | None = None,
        lease_seconds: float = dedupe.LEASE_SECONDS,
        wait_poll_seconds: float = 0.2,
    ) -> None:
        super().__init__(storage=storage, events_isolation=events_isolation)
        self.fsm_storage = storage
        self.redis = redis
        self.prefix = prefix
        self.throttle = throttle
        self.profile_key = profile_key
        self.also_read = also_read
        self.lease_ms = int(lease_seconds * 1000)
        self.wait_poll_seconds = wait_poll_seconds
        self.instance = uuid.uuid4().hex
        self._begin = redis.register_script(BEGIN)
        self._end = redis.register_script(END)
        self._renew = redis.register_script(dedupe.RENEW_LUA)

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if not isinstance(event, Update):
            return await super().__call__(handler, event, data)
        bot = cast(Bot, data["bot"])
        context = self.resolve_event_context(bot, data)
        data["fsm_storage"] = self.storage
        if context is None:
            return await self._run(handler, event, data, None)
        # State is read after the lock is taken (aiogram issue 1317), as aiogram's middleware does.
        async with self.events_isolation.lock(key=context.key):
            return await self._run(handler, event, data, context)

    async def _run(
        self, handler: Handler, update: Update, data: dict[str, Any], context: FSMContext | None
    ) -> Any:
        user: User | None = data.get("event_from_user")
        lease_key = dedupe.lease_key(self.prefix, update.update_id)
        has_user = "1" if user is not None else "0"
        user_id = user.id if user is not None else 0
        seen_key = dedupe.seen_key(self.prefix, user_id)
        fsm_keys = self.fsm_storage.keys(context.key) if context is not None else [lease_key] * 3
        take = user is not None and takes_token(update)
        lease = f"run:{self.instance}:{uuid.uuid4().hex[:8]}"
        keys = [
            lease_key,
            seen_key,
            self.throttle.key(user_id),
            self.profile_key(user_id),
            *fsm_keys,
            self.also_read[0] if self.also_read is not None else lease_key,
        ]
        begin_args: list[str | int] = [has_user, update.update_id, lease, self.lease_ms]
        begin_args += ["1" if take else "0"]
        begin_args += self.throttle.take_args()
        begin_args += ["1" if context is not None else "0"]
        begin_args += ["1" if self.also_read is not None else "0"]

        reply = await self._claim(keys, begin_args, update.update_id)
        if reply is None:
            log.info("skipping duplicate update %s", update.update_id)
            return None
        _, verdict, profile, state, fsm_data, extra = reply
        if self.also_read is not None:
            self.also_read[1](extra)
        if take:
            data[VERDICT] = int(verdict)
        if user is not None:
            data[CACHED_PROFILE] = profile
        frame: UpdateFrame | None = None
        if context is not None:
            frame = self.fsm_storage.open_frame(fsm_keys, state, fsm_data)
            data.update({"state": context, "raw_state": frame.state})

        end_keys = [lease_key, seen_key, *fsm_keys]
        heartbeat = Heartbeat(
            lambda: self._renew(keys=[lease_key], args=[lease, self.lease_ms]),
            self.lease_ms / 3000,
            lease_key,
        )
        try:
            result = await handler(update, data)
        except BaseException:
            heartbeat.stop()
            # Re-admit the update (a retry or a redelivery after restart runs it again); what
            # the handler wrote in the conversation before failing stays written, as it would
            # with writes sent one by one.
            with contextlib.suppress(Exception):
                await self._end(keys=end_keys, args=self._end_args(update, has_user, lease, frame))
            raise
        finally:
            if frame is not None:
                self.fsm_storage.close_frame(frame)
        heartbeat.stop()
        args = self._end_args(update, has_user, lease, frame, ok=True)
        try:
            await self._end(keys=end_keys, args=args)
        except Exception as exc:
            if frame is not None and frame.changed:
                # The conversation's next step is not saved: tell the user (an outage).
                raise
            # The user already has the answer; failing now would add an error message to it.
            # Unmarked, the lease expires and a redelivery (rare) would run the handler again.
            # One line, no trace: during a Redis outage this happens on every update.
            log.warning("could not mark update %s done: %r", update.update_id, exc)
        return result

    async def _claim(
        self, keys: list[str], args: list[str | int], update_id: int
    ) -> list[Any] | None:
        """The opening script's reply once this call owns the update; None for a duplicate."""
        # Waiting for a running lease is bounded by its expiry (plus one renewal's slack).
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 2 * self.lease_ms / 1000
        while True:
            reply = await self._begin(keys=keys, args=args)
            status = _text(reply[0])
            if status == dedupe.ACQUIRED:
                return cast(list[Any], reply)
            if status == dedupe.DONE:
                return None
            if loop.time() >= deadline:
                log.warning("update %s still runs elsewhere (%s); skipping", update_id, status)
                return None
            # Production wait for another process's lease to clear, not a test synchronisation.
            await asyncio.sleep(self.wait_poll_seconds)

    def _end_args(
        self,
        update: Update,
        has_user: str,
        lease: str,
        frame: UpdateFrame | None,
        *,
        ok: bool = False,
    ) -> list[str | int]:
        args: list[str | int] = [has_user, update.update_id, lease, "1" if ok else "0"]
        args.append(dedupe.DONE_TTL_SECONDS * 1000)
        if frame is None or not frame.changed:
            return [*args, "0", "", "", "", "", 0]
        return [*args, "1", *frame.write_args(), self.fsm_storage.ttl_ms]
