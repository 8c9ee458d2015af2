"""Pre-booking holds in Redis (docs/rules.md#holds).

A hold keeps a picked time away from other clients while its owner confirms. It covers the
blocked interval [start, blocked_until) of one specialist and one workplace, and one unit of the
location's capacity over [start, end). Every hold is a member of four sorted sets (specialist,
workplace, location, and one of all holds) scored by its expiry instant in milliseconds of Redis
`TIME`, so expiry
never depends on key TTLs: members with a score in the past are ignored and removed lazily by
the scripts. Taking a hold is one Lua script, so two clients can never both get overlapping
holds.

Holds are a courtesy, not a lock (docs/rules.md#pitfalls-we-design-around): a failover can lose or
double-grant one. The confirm transaction in PostgreSQL re-validates everything and has the last
word.

Keys (all under `{prefix}:hold:`), all built inside the scripts from the prefix, so this needs
a single (non-cluster) Redis, like the rest of the bot:
  h:{hold_id}        JSON of the hold, PX = TTL (a convenience; the sets decide)
  c:{client_id}      the client's current hold id, PX = TTL
  s:{specialist_id}  ZSET member -> expiry ms
  w:{workplace_id}   ZSET member -> expiry ms
  l:{location_id}    ZSET member -> expiry ms
  a                  ZSET member -> expiry ms: every live hold, because a specialist works at
                     several locations and a hold at one must block them at all of them
A member is `hold_id|client|specialist|workplace|start_ms|end_ms|blocked_ms|location`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from redis.asyncio import Redis

from bot.domain.errors import SlotTaken, SlotTakenReason
from bot.domain.slots import SlotCandidate
from bot.domain.types import HeldInterval, SlotQuery

# Shared Lua helpers: split a member and drop one hold (its set members and keys).
_LUA_COMMON = """
local function split(member)
  local out = {}
  for part in string.gmatch(member, '([^|]+)') do out[#out + 1] = part end
  return out
end

local function redis_now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function drop_hold(prefix, hold_id)
  local raw = redis.call('GET', prefix .. 'h:' .. hold_id)
  if not raw then return end
  local h = cjson.decode(raw)
  redis.call('ZREM', prefix .. 's:' .. h.specialist_id, h.member)
  redis.call('ZREM', prefix .. 'w:' .. h.workplace_id, h.member)
  redis.call('ZREM', prefix .. 'l:' .. h.location_id, h.member)
  redis.call('ZREM', prefix .. 'a', h.member)
  redis.call('DEL', prefix .. 'h:' .. hold_id)
  local owner = prefix .. 'c:' .. h.client_id
  if redis.call('GET', owner) == hold_id then redis.call('DEL', owner) end
end
"""

# ARGV: prefix, hold_id, client, location, specialist, workplace, start_ms, end_ms, blocked_ms,
#       ttl_ms, capacity_left (-1 = no cap), payload json (without expiry/member)
# Returns {1, expires_ms} on success, {0, reason} when another client's hold is in the way.
_ACQUIRE = (
    _LUA_COMMON
    + """
local prefix = ARGV[1]
local hold_id, client = ARGV[2], ARGV[3]
local location, specialist, workplace = ARGV[4], ARGV[5], ARGV[6]
local start_ms, end_ms, blocked_ms = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local ttl_ms, capacity_left = tonumber(ARGV[10]), tonumber(ARGV[11])
local now = redis_now_ms()

local skey = prefix .. 's:' .. specialist
local wkey = prefix .. 'w:' .. workplace
local lkey = prefix .. 'l:' .. location
local akey = prefix .. 'a'
for _, key in ipairs({skey, wkey, lkey, akey}) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
end

-- Specialist and workplace: another client's blocked interval must not overlap ours.
for _, key in ipairs({skey, wkey}) do
  for _, member in ipairs(redis.call('ZRANGE', key, 0, -1)) do
    local m = split(member)
    if m[2] ~= client and tonumber(m[5]) < blocked_ms and tonumber(m[7]) > start_ms then
      return {0, key == skey and 'specialist' or 'workplace'}
    end
  end
end

-- Capacity: other clients' holds in progress during [start, end) use up what is left.
if capacity_left >= 0 then
  local used = 0
  for _, member in ipairs(redis.call('ZRANGE', lkey, 0, -1)) do
    local m = split(member)
    if m[2] ~= client and tonumber(m[5]) < end_ms and tonumber(m[6]) > start_ms then
      used = used + 1
    end
  end
  if used >= capacity_left then return {0, 'capacity'} end
end

-- One hold per client: the new one replaces the previous one.
local owner = prefix .. 'c:' .. client
local previous = redis.call('GET', owner)
if previous then drop_hold(prefix, previous) end

local member = table.concat(
  {hold_id, client, specialist, workplace, ARGV[7], ARGV[8], ARGV[9], location}, '|')
local expires = now + ttl_ms
local h = cjson.decode(ARGV[12])
h.member = member
h.expires_ms = expires
redis.call('SET', prefix .. 'h:' .. hold_id, cjson.encode(h), 'PX', ttl_ms)
redis.call('SET', owner, hold_id, 'PX', ttl_ms)
for _, key in ipairs({skey, wkey, lkey, akey}) do
  redis.call('ZADD', key, expires, member)
  -- The set outlives its longest member; stale members are cleaned by score anyway.
  if redis.call('PTTL', key) < ttl_ms then redis.call('PEXPIRE', key, ttl_ms) end
end
return {1, expires}
"""
)

# ARGV: prefix, client, hold_id ('' = whatever the client holds). Returns 1 if dropped.
_RELEASE = (
    _LUA_COMMON
    + """
local prefix, client, wanted = ARGV[1], ARGV[2], ARGV[3]
local current = redis.call('GET', prefix .. 'c:' .. client)
if wanted ~= '' then
  -- Only this hold; it may no longer be the client's current one (never drop a newer hold).
  local raw = redis.call('GET', prefix .. 'h:' .. wanted)
  if not raw then return 0 end
  if tostring(cjson.decode(raw).client_id) ~= client then return 0 end
  drop_hold(prefix, wanted)
  return 1
end
if not current then return 0 end
drop_hold(prefix, current)
return 1
"""
)

# ARGV: prefix, client. Returns the hold JSON if it has not expired by Redis time, else nil.
_GET = (
    _LUA_COMMON
    + """
local prefix, client = ARGV[1], ARGV[2]
local hold_id = redis.call('GET', prefix .. 'c:' .. client)
if not hold_id then return false end
local raw = redis.call('GET', prefix .. 'h:' .. hold_id)
if not raw then return false end
if tonumber(cjson.decode(raw).expires_ms) <= redis_now_ms() then return false end
return raw
"""
)

# ARGV: prefix. Returns the live members of the set of all holds.
_LIVE = (
    _LUA_COMMON
    + """
local key = ARGV[1] .. 'a'
local now = redis_now_ms()
redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
return redis.call('ZRANGEBYSCORE', key, '(' .. now, '+inf')
"""
)


def _ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("hold instants must be timezone-aware")
    return int(moment.timestamp() * 1000)


def _from_ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, tz=UTC)


@dataclass(frozen=True)
class Hold:
    """A client's pre-booking of one time: instants are aware (UTC), `end` is the service end,
    `blocked_until` the end of the break after it."""

    hold_id: str
    client_id: int
    location_id: int
    service_id: int
    specialist_id: int
    workplace_id: int
    start: datetime
    end: datetime
    blocked_until: datetime
    price: Decimal
    expires_at: datetime


class HoldStore:
    """Holds in Redis; also the slot engine's `HoldSource`."""

    def __init__(self, redis: Redis, *, prefix: str, ttl_seconds: int) -> None:
        self._redis = redis
        self._prefix = f"{prefix}:hold:"
        self._ttl_ms = ttl_seconds * 1000
        self._acquire = redis.register_script(_ACQUIRE)
        self._release = redis.register_script(_RELEASE)
        self._get = redis.register_script(_GET)
        self._live = redis.register_script(_LIVE)

    async def acquire(
        self,
        *,
        client_id: int,
        query: SlotQuery,
        candidate: SlotCandidate,
        capacity_left: int | None = None,
        ttl_seconds: int | None = None,
    ) -> Hold:
        """Hold `candidate` (a start with its specialist, workplace, interval and price, from
        the slot engine for `query`) for the client, atomically replacing their previous hold.

        `capacity_left` is how many more appointments the location can run during
        [start, end) according to PostgreSQL (None = no cap); other clients' holds use it up.
        Raises `SlotTaken` if another client's hold overlaps the specialist or workplace
        interval, or the capacity is used up.
        """
        location_id, service_id = query.location_id, query.service_id
        specialist_id, workplace_id = candidate.specialist_id, candidate.workplace_id
        start, end, blocked_until = candidate.start, candidate.end, candidate.blocked_until
        price = candidate.price
        if not start < end <= blocked_until:
            raise ValueError("a hold needs start < end <= blocked_until")
        hold_id = uuid.uuid4().hex
        ttl_ms = ttl_seconds * 1000 if ttl_seconds is not None else self._ttl_ms
        payload = {
            "hold_id": hold_id,
            "client_id": client_id,
            "location_id": location_id,
            "service_id": service_id,
            "specialist_id": specialist_id,
            "workplace_id": workplace_id,
            "start_ms": _ms(start),
            "end_ms": _ms(end),
            "blocked_ms": _ms(blocked_until),
            "price": str(price),
        }
        ok, detail = await self._acquire(
            args=[
                self._prefix,
                hold_id,
                client_id,
                location_id,
                specialist_id,
                workplace_id,
                _ms(start),
                _ms(end),
                _ms(blocked_until),
                ttl_ms,
                -1 if capacity_left is None else max(capacity_left, 0),
                json.dumps(payload),
            ]
        )
        if int(ok) != 1:
            reason = detail.decode() if isinstance(detail, bytes) else str(detail)
            raise SlotTaken(SlotTakenReason.HELD, reason)
        return Hold(
            hold_id=hold_id,
            client_id=client_id,
            location_id=location_id,
            service_id=service_id,
            specialist_id=specialist_id,
            workplace_id=workplace_id,
            start=_from_ms(_ms(start)),
            end=_from_ms(_ms(end)),
            blocked_until=_from_ms(_ms(blocked_until)),
            price=price,
            expires_at=_from_ms(int(detail)),
        )

    async def get(self, client_id: int) -> Hold | None:
        """The client's live hold, or None (none taken, released or expired)."""
        raw = await self._get(args=[self._prefix, client_id])
        if not raw:
            return None
        return _decode(json.loads(raw))

    async def release(self, client_id: int, hold_id: str | None = None) -> None:
        """Drop the client's hold; with `hold_id`, only that hold (a newer one stays)."""
        await self._release(args=[self._prefix, client_id, hold_id or ""])

    async def holds_between(
        self, location_id: int, start: datetime, end: datetime
    ) -> Sequence[HeldInterval]:
        """Live holds whose blocked interval meets [start, end): those at the location, and
        those at other locations too (their specialist may also work here; the engine counts
        only the location's own holds for capacity)."""
        lo, hi = _ms(start), _ms(end)
        members = await self._live(args=[self._prefix])
        result: list[HeldInterval] = []
        for raw in members:
            text = raw.decode() if isinstance(raw, bytes) else str(raw)
            _hold_id, client, specialist, workplace, s_ms, e_ms, b_ms, location = text.split("|")
            if int(s_ms) < hi and int(b_ms) > lo:
                result.append(
                    HeldInterval(
                        client_id=int(client),
                        location_id=int(location),
                        specialist_id=int(specialist),
                        workplace_id=int(workplace),
                        start=_from_ms(int(s_ms)),
                        end=_from_ms(int(e_ms)),
                        blocked_until=_from_ms(int(b_ms)),
                    )
                )
        return result


def _decode(data: dict[str, Any]) -> Hold:
    return Hold(
        hold_id=str(data["hold_id"]),
        client_id=int(data["client_id"]),
        location_id=int(data["location_id"]),
        service_id=int(data["service_id"]),
        specialist_id=int(data["specialist_id"]),
        workplace_id=int(data["workplace_id"]),
        start=_from_ms(int(data["start_ms"])),
        end=_from_ms(int(data["end_ms"])),
        blocked_until=_from_ms(int(data["blocked_ms"])),
        price=Decimal(str(data["price"])),
        expires_at=_from_ms(int(data["expires_ms"])),
    )
