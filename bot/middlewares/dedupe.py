"""Process each Telegram `update_id` once (docs/rules.md#idempotency; aiogram has no dedupe of its
own, docs/rules.md#pitfalls-we-design-around), with memory bounded by users, not updates.

The checks are Lua functions run inside the update gate's two scripts (`bot.middlewares.gate`),
so dedupe costs no round trip of its own:

- while a handler works on an update, `{prefix}:update:{update_id}` holds a lease
  `run:<instance>:<nonce>` (`LEASE_SECONDS`, renewed by a heartbeat while the handler runs), so
  the lease of a crashed process expires by itself; it is deleted when the handler is done;
- done: `{prefix}:seen:{user_id}` keeps the highest `update_id` of that user handled (a
  watermark); an update at or below it is a duplicate. One user's updates are handled in
  `update_id` order (long polling handles one user's updates one after another,
  `bot.ops.batch_polling`; the webhook gets one chat's updates one after another, and the
  gate serialises one user's updates), so the watermark
  says all a day of markers per update said. It lives `DONE_TTL_SECONDS` (a day: Telegram
  keeps an update at most 24 h) after the user's last update: about 72 bytes per user active
  that day, however many updates they sent;
- a handler that raised re-admits its update: the lease becomes `failed` (kept for the day), so
  a redelivery (webhook retry, polling after a restart) runs it again even when a later update
  of the user was handled meanwhile;
- an update without a user (none of the kinds the bot asks for today) is marked `done` in its
  own key for the day instead.

A duplicate that finds a running lease waits until the lease is released or expires: after a
crash the redelivered update arrives before the dead lease has expired, and must not be skipped.
"""

from __future__ import annotations

DONE_TTL_SECONDS = 24 * 3600
LEASE_SECONDS = 10.0
ACQUIRED, DONE = "acquired", "done"

# dedupe_claim -> 'acquired' (lease taken), 'done' (a duplicate) or the running owner's lease.
# has_user: '1' when seen_key is the user's watermark.
DEDUPE_CLAIM_LUA = """
local function dedupe_claim(lease_key, seen_key, has_user, id, lease, lease_ms)
  local current = redis.call('GET', lease_key)
  if current == 'failed' then
    current = false
  elseif not current and has_user == '1' then
    local w = tonumber(redis.call('GET', seen_key) or '-1')
    if tonumber(id) <= w then return 'done' end
  end
  if current then return current end
  redis.call('SET', lease_key, lease, 'PX', lease_ms)
  return 'acquired'
end
"""
# dedupe_end: ok '1' marks the update done, '0' re-admits it. Only the lease's owner (or nobody:
# the lease expired during a very long handler) marks; a lease taken over by another process
# is left to it.
DEDUPE_END_LUA = """
local function dedupe_end(lease_key, seen_key, has_user, id, lease, ok, done_ttl_ms)
  local current = redis.call('GET', lease_key)
  if current and current ~= lease then return 0 end
  if ok ~= '1' then
    redis.call('SET', lease_key, 'failed', 'PX', done_ttl_ms)
  elseif has_user == '1' then
    local w = tonumber(redis.call('GET', seen_key) or '-1')
    if tonumber(id) > w then
      redis.call('SET', seen_key, id, 'PX', done_ttl_ms)
    else
      redis.call('PEXPIRE', seen_key, done_ttl_ms)
    end
    if current then redis.call('DEL', lease_key) end
  else
    redis.call('SET', lease_key, 'done', 'PX', done_ttl_ms)
  end
  return 1
end
"""
# KEYS[1] lease key; ARGV[1] lease, ARGV[2] lease ms. Only the owner may extend its lease.
RENEW_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""


def lease_key(prefix: str, update_id: int) -> str:
    """`{prefix}:update:{update_id}`: the lease while a handler runs, `failed` after a handler
    raised, `done` for an update without a user."""
    return f"{prefix}:update:{update_id}"


def seen_key(prefix: str, user_id: int) -> str:
    """`{prefix}:seen:{user_id}`: the user's watermark, the highest `update_id` handled."""
    return f"{prefix}:seen:{user_id}"
