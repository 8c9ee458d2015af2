"""Pre-booking holds in Redis (docs/rules.md#holds).

A hold keeps a picked time away from other clients while its owner confirms. It covers the
blocked interval [start, blocked_until) of one specialist, one unit of the location's capacity
over [start, end), and ONE workplace among those able to serve it over [start, blocked_until):
not a particular one, because until the appointment starts its workplace may still change
(docs/rules.md#slot-grid). Only when the specialist's schedule pins a workplace is the hold's
workplace fixed. A new hold is granted when some assignment of workplaces exists for it together
with the other clients' holds at the location and the location's appointments the caller read
from PostgreSQL (movable ones with every workplace they may use); the search is the one of
`bot.domain.assignment`, run inside the script so that concurrent holds can never over-subscribe
the workplaces.

Every hold is a member of three sorted sets (specialist, location, and one of all holds) scored
by its expiry instant in milliseconds of Redis `TIME` (or of the store's clock, when one is
given), so expiry never depends on key TTLs: members with a score in the past are ignored and
removed lazily by the scripts. Taking a hold is one Lua script, so two clients can never both
get holds that do not fit together.

Holds are a courtesy, not a lock (docs/rules.md#pitfalls-we-design-around): a failover can lose
or double-grant one, and the appointments the script is given are a snapshot. The confirm
transaction in PostgreSQL re-validates everything and has the last word.

Keys (all under `{prefix}:hold:`), all built inside the scripts from the prefix, so this needs
a single (non-cluster) Redis, like the rest of the bot:
  h:{hold_id}        JSON of the hold, PX = TTL (a convenience; the sets decide)
  c:{client_id}      the client's current hold id, PX = TTL
  s:{specialist_id}  ZSET member -> expiry ms
  l:{location_id}    ZSET member -> expiry ms
  a                  ZSET member -> expiry ms: every live hold, for the reads that cannot
                     name the sets they need (the authoritative check, a display read whose
                     specialists are not in memory). A display read takes the location's set
                     and its specialists' (`hold_scope`, `live_in`): a specialist works at
                     several locations, and a hold at one blocks them at all of them.
A member is `hold_id|client|specialist|workplace|start_ms|end_ms|blocked_ms|location|w1,w2,..`
(the last field: the workplaces it may use; members written before it existed lack it and use
their `workplace` only).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

import orjson
from redis.asyncio import Redis

from bot.domain.assignment import Job, near_jobs
from bot.domain.errors import SlotTaken, SlotTakenReason
from bot.domain.slots import SlotCandidate
from bot.domain.types import HeldInterval, SlotQuery
from bot.ops import metrics

# Shared Lua helpers: split a member and drop one hold (its set members and keys).
_LUA_COMMON = """
local function split(member)
  local out = {}
  for part in string.gmatch(member, '([^|]+)') do out[#out + 1] = part end
  return out
end

-- The clock: milliseconds given by the caller (a test's or the demo's clock), else Redis TIME.
local function now_ms(given)
  if given and given ~= '' then return tonumber(given) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function drop_hold(prefix, hold_id)
  local raw = redis.call('GET', prefix .. 'h:' .. hold_id)
  if not raw then return end
  local h = cjson.decode(raw)
  redis.call('ZREM', prefix .. 's:' .. h.specialist_id, h.member)
  redis.call('ZREM', prefix .. 'l:' .. h.location_id, h.member)
  redis.call('ZREM', prefix .. 'a', h.member)
  redis.call('DEL', prefix .. 'h:' .. hold_id)
  local owner = prefix .. 'c:' .. h.client_id
  if redis.call('GET', owner) == hold_id then redis.call('DEL', owner) end
end
"""

# Is there an assignment of workplaces for `jobs` (each {s, e, cur, allowed = {w, ...}, k})
# in which no two jobs on one workplace overlap? The search of `bot.domain.assignment`: jobs in
# start order, each job's list narrowed first (a workplace a job held to it occupies is taken
# off the lists of the jobs overlapping it, `_narrowed`), the current workplace first, one of
# each class of interchangeable free workplaces, failed states remembered; after `plain` steps
# (256 when nil) it checks once for room at every start (`_Search.room_at_starts`). Gives up
# (false) after `budget` steps. Also returns the workplace the assignment found gives the job
# keyed 'new' (nil when there is none), and, with false, whether it gave up. Jobs may share
# their `allowed` tables: they are copied.
_LUA_ASSIGN = """
local function assignable(jobs, budget, plain)
  plain = plain or 256
  table.sort(jobs, function(a, b)
    if a.s ~= b.s then return a.s < b.s end
    if a.e ~= b.e then return a.e < b.e end
    return a.k < b.k
  end)
  local pending, done = {}, {}
  for n, job in ipairs(jobs) do
    local own = {}
    for i, w in ipairs(job.allowed) do own[i] = w end
    job.allowed = own
    if #own <= 1 then pending[#pending + 1] = n end
  end
  while #pending > 0 do
    local n = table.remove(pending)
    if not done[n] then
      done[n] = true
      local held = jobs[n]
      if #held.allowed == 0 then return false, nil end
      local w = held.allowed[1]
      for m, job in ipairs(jobs) do
        if m ~= n and job.s < held.e and held.s < job.e then
          for i, x in ipairs(job.allowed) do
            if x == w then
              table.remove(job.allowed, i)
              if #job.allowed <= 1 then pending[#pending + 1] = m end
              break
            end
          end
        end
      end
    end
  end
  local wps, pos = {}, {}
  for _, job in ipairs(jobs) do
    for _, w in ipairs(job.allowed) do
      if not pos[w] then wps[#wps + 1] = w; pos[w] = true end
    end
  end
  table.sort(wps)
  local users = {}
  for i, w in ipairs(wps) do pos[w] = i; users[w] = {} end
  for n, job in ipairs(jobs) do
    for _, w in ipairs(job.allowed) do table.insert(users[w], n) end
  end
  local klass = {}
  for _, w in ipairs(wps) do klass[w] = table.concat(users[w], ',') end
  for _, job in ipairs(jobs) do
    local order = {}
    for _, w in ipairs(job.allowed) do order[#order + 1] = w end
    table.sort(order, function(a, b)
      local ca, cb = (a == job.cur) and 0 or 1, (b == job.cur) and 0 or 1
      if ca ~= cb then return ca < cb end
      return a < b
    end)
    job.order = order
    local slots = {}
    for i, w in ipairs(order) do slots[i] = pos[w] end
    job.slots = slots
  end
  local free = {}
  -- Whether each of `active` (jobs) can have a workplace of its own (augmenting paths).
  local function matched(active)
    local holder = {}
    local function try(k, seen)
      for _, i in ipairs(active[k].slots) do
        if not seen[i] then
          seen[i] = true
          if not holder[i] or try(holder[i], seen) then
            holder[i] = k
            return true
          end
        end
      end
      return false
    end
    for k = 1, #active do
      if not try(k, {}) then return false end
    end
    return true
  end
  -- `_Search.room_at_starts`: at every start of a job, room for each job in progress.
  local function room_at_starts()
    local m = 1
    while m <= #jobs do
      local moment = jobs[m].s
      while m < #jobs and jobs[m + 1].s == moment do m = m + 1 end
      local active = {}
      for k = 1, m do
        if jobs[k].e > moment then active[#active + 1] = jobs[k] end
      end
      if #active > 1 and not matched(active) then return false end
      m = m + 1
    end
    return true
  end
  local failed, steps, new_at, checked, none = {}, 0, nil, false, false
  local function place(n)
    if n > #jobs then return true end
    steps = steps + 1
    if steps > budget then return false end
    if steps > plain and not checked then
      checked = true
      if not room_at_starts() then
        none = true
        return false
      end
    end
    if none then return false end
    local job = jobs[n]
    local parts = {n}
    for i = 1, #wps do
      local f = free[i]
      parts[#parts + 1] = (f and f > job.s) and f or '-'
    end
    local state = table.concat(parts, ':')
    if failed[state] then return false end
    local seen = {}
    for _, w in ipairs(job.order) do
      local i = pos[w]
      local until_ms = free[i]
      if not (until_ms and until_ms > job.s) then
        local sig = klass[w]
        if w == job.cur or not seen[sig] then
          seen[sig] = true
          free[i] = job.e
          if job.k == 'new' then new_at = w end
          if place(n + 1) then return true end
          free[i] = until_ms
          if none then return false end  -- no assignment: unwinding
        end
      end
    end
    failed[state] = true
    return false
  end
  for i = 1, #wps do free[i] = false end
  local found = place(1)
  if found then return true, new_at end
  return false, nil, steps > budget
end

-- The jobs linked to [lo, hi) through a chain of overlapping intervals.
local function component(jobs, lo, hi)
  local picked, taken, changed = {}, {}, true
  while changed do
    changed = false
    for n, job in ipairs(jobs) do
      if not taken[n] and job.s < hi and lo < job.e then
        taken[n] = true
        picked[#picked + 1] = job
        if job.s < lo then lo = job.s end
        if job.e > hi then hi = job.e end
        changed = true
      end
    end
  end
  return picked
end

local function workplace_list(text)
  local out = {}
  for part in string.gmatch(text, '([^,]+)') do out[#out + 1] = tonumber(part) end
  return out
end
"""

# ARGV: prefix, hold_id, client, location, specialist, workplace, start_ms, end_ms, blocked_ms,
#       ttl_ms, capacity_left (-1 = no cap), payload json (without expiry/member),
#       allowed workplaces ("1,2"), placed appointments json ([[start_ms, blocked_ms, current,
#       allowed set (0-based index into the last argument), booking key ('' = none)], ...]),
#       now_ms ('' = Redis TIME), search budget (steps), seen holds json (members of other
#       clients' holds at the location read before the appointments: ["member", ...]), the
#       placed appointments' distinct allowed workplace sets json ([[w, ...], ...]: most of a
#       day's appointments share one, sent once), the stretch [lo_ms, hi_ms) the placed
#       appointments cover (every one meeting it is sent; '', '' = all of the location's), the
#       booking keys of the appointments not sent (",key,key,"; '' = none). A placed
#       appointment may carry a sixth field: its place among all the caller read (its key).
# Returns {1, expires_ms, workplace} on success (the workplace the hold sits on), {0, reason}
# when another client's hold is in the way, {0, 'reach'} when the holds link the new one to
# appointments beyond the stretch sent (nothing decided: ask again with all of them).
_ACQUIRE = (
    _LUA_COMMON
    + _LUA_ASSIGN
    + """
local prefix = ARGV[1]
local hold_id, client = ARGV[2], ARGV[3]
local location, specialist, workplace = ARGV[4], ARGV[5], ARGV[6]
local start_ms, end_ms, blocked_ms = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local ttl_ms, capacity_left = tonumber(ARGV[10]), tonumber(ARGV[11])
local allowed_text = ARGV[13]
local now = now_ms(ARGV[15])
local budget = tonumber(ARGV[16])

local skey = prefix .. 's:' .. specialist
local lkey = prefix .. 'l:' .. location
local akey = prefix .. 'a'
for _, key in ipairs({skey, lkey, akey}) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
end

-- Specialist: another client's blocked interval must not overlap ours.
for _, member in ipairs(redis.call('ZRANGE', skey, 0, -1)) do
  local m = split(member)
  if m[2] ~= client and tonumber(m[5]) < blocked_ms and tonumber(m[7]) > start_ms then
    return {0, 'specialist'}
  end
end

-- Workplaces: the appointments as the caller read them, the other clients' holds at the
-- location and this hold must all fit on the workplaces they may use. A hold one of those
-- appointments was booked with (its id is the booking key) is that appointment: counted once.
-- A hold the caller saw before reading the appointments that is gone now may have been booked
-- after that read: it still counts (unless the appointments show it booked).
local others = redis.call('ZRANGE', lkey, 0, -1)
local jobs, spent = {}, {}
local allowed_sets = cjson.decode(ARGV[18])
for n, p in ipairs(cjson.decode(ARGV[14])) do
  -- Keyed by the appointment's place among all the caller read (p[6]), sent or not: the
  -- search breaks ties by key, so the answer does not depend on which were sent.
  jobs[#jobs + 1] = {
    s = p[1], e = p[2], cur = p[3], allowed = allowed_sets[p[4] + 1], k = 'a' .. (p[6] or n),
  }
  if p[5] and p[5] ~= '' then spent[p[5]] = true end
end
local live = {}
for _, member in ipairs(others) do live[split(member)[1]] = true end
for _, member in ipairs(cjson.decode(ARGV[17])) do
  if not live[split(member)[1]] then others[#others + 1] = member end
end
-- The booking keys of the appointments not sent (",k1,k2,"): a hold booked as one of them is
-- that appointment too, wherever it has moved since.
local unsent_keys = ARGV[21] or ''
if unsent_keys ~= '' then
  for _, member in ipairs(others) do
    local id = split(member)[1]
    if string.find(unsent_keys, ',' .. id .. ',', 1, true) then spent[id] = true end
  end
end
for n, member in ipairs(others) do
  local m = split(member)
  if m[2] ~= client and not spent[m[1]] then
    jobs[#jobs + 1] = {
      s = tonumber(m[5]), e = tonumber(m[7]), cur = tonumber(m[4]),
      allowed = workplace_list(m[9] or m[4]), k = 'h' .. n,
    }
  end
end
jobs[#jobs + 1] = {
  s = start_ms, e = blocked_ms, cur = tonumber(workplace),
  allowed = workplace_list(allowed_text), k = 'new',
}
local linked = component(jobs, start_ms, blocked_ms)
-- The caller sent the appointments meeting [ARGV[19], ARGV[20]) only ('' = all of them): a hold
-- linking this one beyond that may link appointments not sent, so decide nothing.
local sent_lo, sent_hi = tonumber(ARGV[19]), tonumber(ARGV[20])
if sent_lo then
  for _, job in ipairs(linked) do
    if job.s < sent_lo or job.e > sent_hi then return {0, 'reach'} end
  end
end
local fits, placed_at, gave_up = assignable(linked, budget)
if not fits then
  return {0, gave_up and 'search' or 'workplace'}
end
-- The hold sits where the assignment found puts it, clear of the other clients' holds and the
-- appointments: the workplace a confirm locks with the specialist (another client's hold
-- taken at the same time sits elsewhere, so their confirms do not pick again).
workplace = tostring(placed_at or workplace)

-- Capacity: other clients' holds in progress during [start, end) use up what is left.
if capacity_left >= 0 then
  local used = 0
  for _, member in ipairs(others) do
    local m = split(member)
    if m[2] ~= client and not spent[m[1]] and tonumber(m[5]) < end_ms
        and tonumber(m[6]) > start_ms then
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
  {hold_id, client, specialist, workplace, ARGV[7], ARGV[8], ARGV[9], location, allowed_text},
  '|')
local expires = now + ttl_ms
local h = cjson.decode(ARGV[12])
h.workplace_id = tonumber(workplace)
h.member = member
h.expires_ms = expires
redis.call('SET', prefix .. 'h:' .. hold_id, cjson.encode(h), 'PX', ttl_ms)
redis.call('SET', owner, hold_id, 'PX', ttl_ms)
for _, key in ipairs({skey, lkey, akey}) do
  redis.call('ZADD', key, expires, member)
  -- The set outlives its longest member; stale members are cleaned by score anyway.
  if redis.call('PTTL', key) < ttl_ms then redis.call('PEXPIRE', key, ttl_ms) end
end
return {1, expires, workplace}
"""
)

# release_hold(prefix, client, hold_id ('' = whatever the client holds)): drops that hold of the
# client's; 1 if dropped. For scripts that release a hold along with something else.
RELEASE_LUA = (
    _LUA_COMMON
    + """
local function release_hold(prefix, client, wanted)
  if wanted ~= '' then
    -- Only this hold; it may no longer be the client's current one (never drop a newer hold).
    local raw = redis.call('GET', prefix .. 'h:' .. wanted)
    if not raw then return 0 end
    if tostring(cjson.decode(raw).client_id) ~= client then return 0 end
    drop_hold(prefix, wanted)
    return 1
  end
  local current = redis.call('GET', prefix .. 'c:' .. client)
  if not current then return 0 end
  drop_hold(prefix, current)
  return 1
end
"""
)

# ARGV: prefix, client, hold_id ('' = whatever the client holds). Returns 1 if dropped.
_RELEASE = RELEASE_LUA + "return release_hold(ARGV[1], ARGV[2], ARGV[3])\n"

# ARGV: prefix, client, now_ms ('' = Redis TIME). Returns the hold JSON if it has not expired,
# else nil.
_GET = (
    _LUA_COMMON
    + """
local prefix, client = ARGV[1], ARGV[2]
local hold_id = redis.call('GET', prefix .. 'c:' .. client)
if not hold_id then return false end
local raw = redis.call('GET', prefix .. 'h:' .. hold_id)
if not raw then return false end
if tonumber(cjson.decode(raw).expires_ms) <= now_ms(ARGV[3]) then return false end
return raw
"""
)

# live_members(prefix, now_ms ('' = Redis TIME)): the live members of the set of all holds
# (`held_between` reads them); for scripts that read the live holds along with something else.
LIVE_LUA = (
    _LUA_COMMON
    + """
local function live_members(prefix, given_now)
  local key = prefix .. 'a'
  local now = now_ms(given_now)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  return redis.call('ZRANGEBYSCORE', key, '(' .. now, '+inf')
end

-- The live members of the sets named in `scope` ('l:<location>,s:<specialist>,...'), each
-- once; '' = every live hold (`live_members`). Read only: a member's score is its expiry, so
-- the expired ones are left out by the range itself; the acquire script trims the sets it
-- adds to, and a set's key expires when the last hold added to it would have (so a set can
-- outlive its live holds, a released one say). A slot read asks for ten sets or so, usually
-- all of them missing while nobody holds a time there: one EXISTS finds that out in place of
-- a call per set (a trim and a read per set took half the read script's time in Redis).
local function live_in(prefix, given_now, scope)
  if scope == '' then return live_members(prefix, given_now) end
  local keys = {}
  for name in string.gmatch(scope, '([^,]+)') do keys[#keys + 1] = prefix .. name end
  local out, seen = {}, {}
  if #keys == 0 or redis.call('EXISTS', unpack(keys)) == 0 then return out end
  local now = now_ms(given_now)
  for _, key in ipairs(keys) do
    for _, member in ipairs(redis.call('ZRANGEBYSCORE', key, '(' .. now, '+inf')) do
      if not seen[member] then
        seen[member] = true
        out[#out + 1] = member
      end
    end
  end
  return out
end
"""
)

# ARGV: prefix, now_ms ('' = Redis TIME). Returns the live members of the set of all holds.
_LIVE = (
    LIVE_LUA
    + """
return live_members(ARGV[1], ARGV[2])
"""
)


def _ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("hold instants must be timezone-aware")
    return int(moment.timestamp() * 1000)


def _from_ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, tz=UTC)


def _placed_args(
    placed: Sequence[tuple[int, Job]],
    unsent: Sequence[str],
    now: int | str,
    seen: bytes,
    stretch: tuple[datetime, datetime] | None,
) -> list[Any]:
    """The acquire script's arguments from the placed appointments on (ARGV[14] to ARGV[21]):
    `placed` as jobs (each with its place among all the caller read), `now`, the search
    budget, the `seen` holds' members (JSON), the jobs' distinct sets of allowed workplaces,
    the stretch of time `placed` covers (every appointment meeting it is among them; None:
    all the location's are), and the booking keys of the appointments left out (`unsent`)."""
    # Each distinct set of allowed workplaces is sent once (jobs refer to it by index).
    sets: dict[frozenset[int], int] = {}
    jobs = [
        [
            _ms(j.start),
            _ms(j.end),
            j.current if j.current is not None else -1,
            sets.setdefault(j.allowed, len(sets)),
            j.booking_key or "",
            n,
        ]
        for n, j in placed
    ]
    lo, hi = ("", "") if stretch is None else (_ms(stretch[0]), _ms(stretch[1]))
    return [
        orjson.dumps(jobs),
        now,
        SEARCH_BUDGET,
        seen,
        orjson.dumps([sorted(allowed) for allowed in sets]),
        lo,
        hi,
        f",{','.join(unsent)}," if unsent else "",
    ]


# How many search steps the script may take before it refuses a hold (a day has few
# workplaces and tens of appointments; a search this long means a pathological day, and
# refusing is the safe answer: the time is shown again once the holds expire).
SEARCH_BUDGET = 20_000


@dataclass(frozen=True)
class Hold:
    """A client's pre-booking of one time: instants are aware (UTC), `end` is the service end,
    `blocked_until` the end of the break after it. `workplace_id` is where it sits: the
    workplace the assignment found when it was taken gives it, clear of the other clients'
    holds and the appointments then (the one a confirm locks first); it reserves one of
    `workplace_ids` (docs/rules.md#holds)."""

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
    workplace_ids: frozenset[int] = frozenset()


class HoldStore:
    """Holds in Redis; also the slot engine's `HoldSource`.

    `clock` (aware instants) replaces Redis `TIME` as the time holds expire by; None (the
    default) means Redis time, which every instance shares."""

    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str,
        ttl_seconds: int,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._redis = redis
        self._prefix = f"{prefix}:hold:"
        self._ttl_ms = ttl_seconds * 1000
        self._clock = clock
        self._acquire = redis.register_script(_ACQUIRE)
        self._release = redis.register_script(_RELEASE)
        self._get = redis.register_script(_GET)
        self._live = redis.register_script(_LIVE)

    def _now_arg(self) -> int | str:
        return "" if self._clock is None else _ms(self._clock())

    async def acquire(
        self,
        *,
        client_id: int,
        query: SlotQuery,
        candidate: SlotCandidate,
        capacity_left: int | None = None,
        ttl_seconds: int | None = None,
        placed: Sequence[Job] = (),
        seen: Sequence[HeldInterval] = (),
    ) -> Hold:
        """Hold `candidate` (a start with its specialist, workplace, the workplaces it may use,
        interval and price, from the slot engine for `query`) for the client, atomically
        replacing their previous hold. The hold's `workplace_id` is the one the assignment
        found for it (the candidate's own when that one is free of the others).

        `capacity_left` is how many more appointments the location can run during
        [start, end) according to PostgreSQL (None = no cap); other clients' holds use it up.
        `placed` are the location's appointments around the time as PostgreSQL has them (jobs
        of `bot.domain.assignment.placed_jobs`: each with the workplaces it may move to); a
        live hold that one of them was booked with counts as that appointment only (for the
        workplaces and the capacity: `capacity_left` must come from a read made after
        `placed`'s, so it counts every appointment `placed` has). `seen`: the other clients'
        holds at the location as read before `placed`; one gone since and not booked among
        `placed` may have been booked after that read, so it still counts (a confirm gives
        its hold back only after its commit).
        Raises `SlotTaken` (reason HELD, detail 'specialist', 'workplace', 'search' or
        'capacity') if another client's hold overlaps the specialist's interval, if no
        assignment of workplaces fits this hold with the other clients' holds at the location
        and `placed` ('search': the search gave up at `SEARCH_BUDGET` steps, counted in
        `bot_hold_search_gave_up_total`), or if the capacity is used up.
        """
        location_id, service_id = query.location_id, query.service_id
        specialist_id, workplace_id = candidate.specialist_id, candidate.workplace_id
        start, end, blocked_until = candidate.start, candidate.end, candidate.blocked_until
        allowed = sorted(candidate.workplace_ids | {workplace_id})
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
            "workplace_ids": allowed,
            "start_ms": _ms(start),
            "end_ms": _ms(end),
            "blocked_ms": _ms(blocked_until),
            "price": str(price),
        }
        # Only the appointments this hold reaches through overlaps (with one another and with
        # the holds seen) go to the script: the others keep their workplace whatever it does
        # (`bot.domain.assignment.near_jobs`), and a busy day's hundreds cost the script time in
        # Redis. The script is told the stretch sent; when a hold taken since links the new
        # one beyond it, the script decides nothing ('reach') and is asked again with all.
        (lo, hi), near, unsent = near_jobs(
            placed, start, blocked_until, [(h.start, h.blocked_until) for h in seen]
        )
        stretch = (lo, hi) if len(near) < len(placed) else None
        fixed_args: list[Any] = [
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
            orjson.dumps(payload),
            ",".join(str(w) for w in allowed),
        ]
        seen_args = orjson.dumps([member_of(h) for h in seen])
        reply = await self._acquire(
            args=[*fixed_args, *_placed_args(near, unsent, self._now_arg(), seen_args, stretch)]
        )
        if stretch is not None and reply[0] == 0 and reply[1] in (b"reach", "reach"):
            every = list(enumerate(placed, 1))
            reply = await self._acquire(
                args=[*fixed_args, *_placed_args(every, [], self._now_arg(), seen_args, None)]
            )
        ok, detail, *placed_at = reply
        if int(ok) != 1:
            reason = detail.decode() if isinstance(detail, bytes) else str(detail)
            if reason == "search":
                metrics.HOLD_SEARCH_GAVE_UP.inc()
            raise SlotTaken(SlotTakenReason.HELD, reason)
        if placed_at:
            workplace_id = int(placed_at[0])
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
            workplace_ids=frozenset(allowed),
        )

    async def get(self, client_id: int) -> Hold | None:
        """The client's live hold, or None (none taken, released or expired)."""
        raw = await self._get(args=[self._prefix, client_id, self._now_arg()])
        if not raw:
            return None
        return _decode(json.loads(raw))

    async def release(self, client_id: int, hold_id: str | None = None) -> None:
        """Drop the client's hold; with `hold_id`, only that hold (a newer one stays)."""
        await self._release(args=self.release_args(client_id, hold_id))

    def release_args(self, client_id: int, hold_id: str | None = None) -> list[str | int]:
        """`release_hold`'s arguments (prefix, client, hold id) for a script built on
        `RELEASE_LUA`: the same release as `release` in someone else's script call."""
        return [self._prefix, client_id, hold_id or ""]

    async def holds_between(
        self, location_id: int, start: datetime, end: datetime
    ) -> Sequence[HeldInterval]:
        """Live holds whose blocked interval meets [start, end): those at the location, and
        those at other locations too (their specialist may also work here; the engine counts
        only the location's own holds for capacity and workplaces)."""
        members = await self._live(args=[self._prefix, self._now_arg()])
        return held_between(members, start, end)

    @property
    def key_prefix(self) -> str:
        """The prefix of the store's keys: its sorted sets of live holds are this followed by
        `s:<specialist id>`, `l:<location id>` and `a` (every hold), each member `member_of`
        scored by its expiry in milliseconds."""
        return self._prefix

    def live_args(self) -> list[str | int]:
        """`live_members`' arguments (prefix, clock) for a script built on `LIVE_LUA`."""
        return [self._prefix, self._now_arg()]


def hold_scope(location_id: int, specialist_ids: Iterable[int]) -> str:
    """`live_in`'s scope for a question about `location_id` and these specialists: the
    location's holds (its workplaces and capacity) and the specialists' holds wherever they
    are (a specialist held elsewhere is busy here). Other holds cannot bear on the answer."""
    return ",".join([f"l:{location_id}", *(f"s:{s}" for s in sorted(set(specialist_ids)))])


def member_of(hold: HeldInterval) -> str:
    """The sets' member of `hold` (the inverse of `held_between`)."""
    allowed = ",".join(str(w) for w in sorted(hold.allowed))
    return "|".join(
        str(v)
        for v in (
            hold.hold_id,
            hold.client_id,
            hold.specialist_id,
            hold.workplace_id,
            _ms(hold.start),
            _ms(hold.end),
            _ms(hold.blocked_until),
            hold.location_id,
            allowed,
        )
    )


def held_between(members: Sequence[Any], start: datetime, end: datetime) -> list[HeldInterval]:
    """The holds among `members` (`live_members`' reply) whose blocked interval meets
    [start, end)."""
    lo, hi = _ms(start), _ms(end)
    result: list[HeldInterval] = []
    for raw in members:
        s_ms, b_ms, hold = _member(raw)
        if s_ms < hi and b_ms > lo:
            result.append(hold)
    return result


@lru_cache(maxsize=4096)
def _member(raw: bytes | str) -> tuple[int, int, HeldInterval]:
    """A live member's (start ms, blocked end ms, hold), parsed once however often it is
    read (a member's text never changes; a changed hold is a new member)."""
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    fields = text.split("|")
    hold_id, client, specialist, workplace, s_ms, e_ms, b_ms, location = fields[:8]
    allowed = fields[8] if len(fields) > 8 else workplace
    hold = HeldInterval(
        client_id=int(client),
        location_id=int(location),
        specialist_id=int(specialist),
        workplace_id=int(workplace),
        start=_from_ms(int(s_ms)),
        end=_from_ms(int(e_ms)),
        blocked_until=_from_ms(int(b_ms)),
        workplace_ids=frozenset(int(w) for w in allowed.split(",")),
        hold_id=hold_id,
    )
    return int(s_ms), int(b_ms), hold


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
        workplace_ids=frozenset(int(w) for w in data.get("workplace_ids") or ()),
    )
