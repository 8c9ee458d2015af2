"""FSM storage: a conversation's state and data in one Redis hash, read once per update.

aiogram's `RedisStorage` keeps state and data in two keys and asks Redis on every
`get_state`/`get_data`/`update_data`: five or six commands for one step of a flow. Here:

- one hash per conversation, `{prefix}:fsm:{chat}:{user}:{destiny}` (the key builder's key
  without a part) with the fields `state` (the state's name) and `data` (JSON, as aiogram
  writes it), and one TTL (`FSM_TTL_SECONDS`) renewed by every write: an abandoned
  conversation is forgotten as a whole, never its state without its data;
- during an update the conversation is read by the update gate's one script
  (`bot.middlewares.gate`) and kept in an `UpdateFrame` for the update's lifetime: every read
  is served from it and writes are collected in it. What was collected is written in one
  command just before the handler's next request to Telegram (`FlushBeforeSend`: a screen the
  user sees is never ahead of the saved conversation), and the rest by the gate's closing
  script (also when the handler raised, so what a handler wrote before failing stays written,
  as before);
- outside an update (tests, tools) every call is one script call on the hash.

Conversations written by aiogram's `RedisStorage` (the `...:state` and `...:data` keys) are
still read, and moved into the hash by the first write, so a deploy loses no flow.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, cast

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import DataNotDictLikeError
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, KeyBuilder, StateType, StorageKey
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from redis.asyncio import Redis

# Lua: read a conversation: {state or false, data or false}; falls back to the two keys of
# aiogram's RedisStorage while the hash does not exist.
FSM_READ_LUA = """
local function fsm_read(key, old_state, old_data)
  local v = redis.call('HMGET', key, 'state', 'data')
  if v[1] or v[2] then return v end
  return {redis.call('GET', old_state), redis.call('GET', old_data)}
end
"""
# Lua: write a conversation. state_op / data_op: '' keeps the field, 'set' sets it to the
# value, 'del' removes it; the hash goes when it is empty, else its TTL restarts.
FSM_WRITE_LUA = """
local function fsm_write(key, old_state, old_data, state_op, state, data_op, data, ttl_ms)
  if state_op == '' and data_op == '' then return 0 end
  if redis.call('EXISTS', key) == 0 then
    local s = redis.call('GET', old_state)
    local d = redis.call('GET', old_data)
    if s then redis.call('HSET', key, 'state', s) end
    if d then redis.call('HSET', key, 'data', d) end
    if s or d then redis.call('DEL', old_state, old_data) end
  end
  if state_op == 'set' then redis.call('HSET', key, 'state', state)
  elseif state_op == 'del' then redis.call('HDEL', key, 'state') end
  if data_op == 'set' then redis.call('HSET', key, 'data', data)
  elseif data_op == 'del' then redis.call('HDEL', key, 'data') end
  if redis.call('EXISTS', key) == 1 then redis.call('PEXPIRE', key, ttl_ms) end
  return 1
end
"""
_READ = FSM_READ_LUA + "return fsm_read(KEYS[1], KEYS[2], KEYS[3])"
_WRITE = (
    FSM_WRITE_LUA
    + "return fsm_write(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])"
)


def _text(value: Any) -> str | None:
    if value is None or value is False:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


@dataclass(slots=True)
class UpdateFrame:
    """One conversation as the current update sees it: `state` (name or None), `data_json`
    (JSON text or None for no data) and which of the two the handler changed."""

    key: str
    legacy_keys: tuple[str, str]
    state: str | None
    data_json: str | None
    state_changed: bool = False
    data_changed: bool = False
    open: bool = True

    @property
    def changed(self) -> bool:
        return self.state_changed or self.data_changed

    def write_args(self) -> list[str]:
        """ARGV of `fsm_write` without the TTL: state op, state, data op, data."""
        state_op = "" if not self.state_changed else "set" if self.state is not None else "del"
        data_op = "" if not self.data_changed else "set" if self.data_json is not None else "del"
        return [state_op, self.state or "", data_op, self.data_json or ""]


_frame: ContextVar[UpdateFrame | None] = ContextVar("fsm_update_frame", default=None)


class OneKeyRedisStorage(BaseStorage):
    """aiogram `BaseStorage` keeping state and data in one hash per conversation.

    `key_builder` names the keys (aiogram's `DefaultKeyBuilder` in the bot); `ttl_seconds`
    (> 0) is how long a conversation lives after its last write.
    """

    def __init__(self, redis: Redis, key_builder: KeyBuilder, *, ttl_seconds: int) -> None:
        if ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be > 0")
        self.redis = redis
        self.key_builder = key_builder
        self.ttl_ms = ttl_seconds * 1000
        self._read = redis.register_script(_READ)
        self._write = redis.register_script(_WRITE)

    def keys(self, key: StorageKey) -> list[str]:
        """The hash, then the two keys of aiogram's RedisStorage read as a fallback."""
        build = self.key_builder.build
        return [build(key), build(key, "state"), build(key, "data")]

    # ---- the update's frame (used by the update gate) -------------------------------------

    @staticmethod
    def open_frame(keys: list[str], state: Any, data: Any) -> UpdateFrame:
        """Start serving the conversation `keys` (as `keys()` names them) from memory for the
        current update, with the values the read script returned; `close_frame` ends it."""
        frame = UpdateFrame(
            key=keys[0], legacy_keys=(keys[1], keys[2]), state=_text(state), data_json=_text(data)
        )
        _frame.set(frame)
        return frame

    async def flush(self, frame: UpdateFrame) -> None:
        """Write what the update changed in its conversation so far (one command)."""
        if not frame.changed:
            return
        keys = [frame.key, *frame.legacy_keys]
        await self._write(keys=keys, args=[*frame.write_args(), self.ttl_ms])
        frame.state_changed = frame.data_changed = False

    @staticmethod
    def close_frame(frame: UpdateFrame) -> None:
        frame.open = False
        if _frame.get() is frame:
            _frame.set(None)

    def _frame_for(self, key: StorageKey) -> UpdateFrame | None:
        frame = _frame.get()
        if frame is None or not frame.open or frame.key != self.key_builder.build(key):
            return None
        return frame

    # ---- BaseStorage ----------------------------------------------------------------------

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        frame = self._frame_for(key)
        if frame is not None:
            frame.state = value
            frame.state_changed = True
            return
        op = "set" if value is not None else "del"
        await self._write(keys=self.keys(key), args=[op, value or "", "", "", self.ttl_ms])

    async def get_state(self, key: StorageKey) -> str | None:
        frame = self._frame_for(key)
        if frame is not None:
            return frame.state
        state, _ = await self._read(keys=self.keys(key))
        return _text(state)

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        if not isinstance(data, dict):
            msg = f"Data must be a dict or dict-like object, got {type(data).__name__}"
            raise DataNotDictLikeError(msg)
        # Serialised now, as RedisStorage does: a value JSON cannot hold fails in the handler.
        encoded = json.dumps(data) if data else None
        frame = self._frame_for(key)
        if frame is not None:
            frame.data_json = encoded
            frame.data_changed = True
            return
        op = "set" if encoded is not None else "del"
        await self._write(keys=self.keys(key), args=["", "", op, encoded or "", self.ttl_ms])

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        frame = self._frame_for(key)
        if frame is not None:
            raw = frame.data_json
        else:
            _, value = await self._read(keys=self.keys(key))
            raw = _text(value)
        # A fresh dict on every call (handlers may change what they got).
        return cast(dict[str, Any], json.loads(raw)) if raw else {}

    async def close(self) -> None:
        """Nothing of its own to close: the Redis client belongs to the app."""


class FlushBeforeSend(BaseRequestMiddleware):
    """Bot request middleware: before a handler's request to Telegram, writes the conversation
    changes its update collected so far (`OneKeyRedisStorage.flush`), so the user never sees a
    screen whose step is not saved. Requests outside an update (polling, the worker) pass."""

    def __init__(self, storage: OneKeyRedisStorage) -> None:
        self.storage = storage

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        frame = _frame.get()
        if frame is not None and frame.open and frame.changed:
            await self.storage.flush(frame)
        return await make_request(bot, method)
