"""Redis holds: atomic under concurrency, one per client, expiry by Redis time, capacity."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from redis.asyncio import Redis

from bot.domain.errors import SlotTaken
from bot.domain.slots import SlotCandidate
from bot.domain.types import SlotQuery
from bot.services.holds import Hold, HoldStore

START = datetime(2031, 3, 4, 7, 0, tzinfo=UTC)
PRICE = Decimal("1000.00")


def store(redis: Redis, prefix: str, ttl: int = 600) -> HoldStore:
    return HoldStore(redis, prefix=prefix, ttl_seconds=ttl)


async def take(
    holds: HoldStore,
    client: int,
    *,
    specialist: int = 1,
    workplace: int = 1,
    location: int = 1,
    start: datetime = START,
    minutes: int = 60,
    break_min: int = 0,
    capacity_left: int | None = None,
    ttl_seconds: int | None = None,
) -> Hold:
    end = start + timedelta(minutes=minutes)
    candidate = SlotCandidate(
        specialist_id=specialist,
        workplace_id=workplace,
        start=start,
        end=end,
        blocked_until=end + timedelta(minutes=break_min),
        price=PRICE,
        duration_min=minutes,
        break_min=break_min,
    )
    return await holds.acquire(
        client_id=client,
        query=SlotQuery(location_id=location, service_id=1),
        candidate=candidate,
        capacity_left=capacity_left,
        ttl_seconds=ttl_seconds,
    )


async def wait_until_gone(holds: HoldStore, client: int, limit: float = 5.0) -> float:
    """Poll Redis until the client's hold is gone; returns the seconds it took (bounded)."""
    began = time.monotonic()
    while await holds.get(client) is not None:
        if time.monotonic() - began > limit:
            raise AssertionError("hold did not expire in time")
        await asyncio.sleep(0.05)
    return time.monotonic() - began


async def test_fifty_clients_racing_for_one_slot_get_one_hold(
    redis: Redis, redis_prefix: str
) -> None:
    holds = store(redis, redis_prefix)
    results = await asyncio.gather(
        *(take(holds, client) for client in range(1, 51)), return_exceptions=True
    )
    won = [r for r in results if isinstance(r, Hold)]
    lost = [r for r in results if isinstance(r, SlotTaken)]
    assert len(won) == 1 and len(lost) == 49
    assert len(await holds.holds_between(1, START, START + timedelta(hours=1))) == 1


async def test_overlap_on_specialist_or_workplace_is_refused(
    redis: Redis, redis_prefix: str
) -> None:
    holds = store(redis, redis_prefix)
    await take(holds, 1, specialist=1, workplace=1, break_min=15)
    # Same specialist, other chair, inside the break after the service.
    with pytest.raises(SlotTaken):
        await take(holds, 2, specialist=1, workplace=2, start=START + timedelta(minutes=70))
    # Same chair, other specialist.
    with pytest.raises(SlotTaken):
        await take(holds, 3, specialist=2, workplace=1, start=START + timedelta(minutes=30))
    # Right after the break: free.
    await take(holds, 4, specialist=1, workplace=1, start=START + timedelta(minutes=75))
    # Another specialist on another chair at the same time: free.
    await take(holds, 5, specialist=2, workplace=2)


async def test_new_hold_replaces_the_previous_one(redis: Redis, redis_prefix: str) -> None:
    holds = store(redis, redis_prefix)
    first = await take(holds, 1)
    second = await take(holds, 1, start=START + timedelta(hours=3))
    current = await holds.get(1)
    assert current is not None and current.hold_id == second.hold_id != first.hold_id
    # The first interval is free again for someone else.
    await take(holds, 2)
    held = await holds.holds_between(1, START, START + timedelta(hours=5))
    assert sorted((h.client_id, h.start) for h in held) == [
        (1, START + timedelta(hours=3)),
        (2, START),
    ]


async def test_own_hold_does_not_block_the_client(redis: Redis, redis_prefix: str) -> None:
    holds = store(redis, redis_prefix)
    await take(holds, 1)
    again = await take(holds, 1, start=START + timedelta(minutes=15))
    assert again.client_id == 1


async def test_release_frees_the_time_and_only_the_named_hold(
    redis: Redis, redis_prefix: str
) -> None:
    holds = store(redis, redis_prefix)
    old = await take(holds, 1)
    new = await take(holds, 1, start=START + timedelta(hours=2))
    await holds.release(1, old.hold_id)  # stale id: the newer hold stays
    current = await holds.get(1)
    assert current is not None and current.hold_id == new.hold_id
    await holds.release(1)
    assert await holds.get(1) is None
    await take(holds, 2, start=START + timedelta(hours=2))


async def test_expired_hold_no_longer_blocks(redis: Redis, redis_prefix: str) -> None:
    holds = store(redis, redis_prefix)
    hold = await take(holds, 1, ttl_seconds=1)
    assert hold.expires_at > datetime.now(UTC) - timedelta(seconds=5)
    with pytest.raises(SlotTaken):
        await take(holds, 2)
    await wait_until_gone(holds, 1)
    assert await holds.holds_between(1, START, START + timedelta(hours=1)) == []
    await take(holds, 2)


async def test_expiry_uses_the_scores_not_key_ttl(redis: Redis, redis_prefix: str) -> None:
    """Even if the interval sets and keys outlive the hold (no TTL on them), an expired score
    is ignored: expiry is decided by Redis TIME against the stored expiry."""
    holds = store(redis, redis_prefix)
    await take(holds, 1)
    prefix = f"{redis_prefix}:hold:"
    keys = [k async for k in redis.scan_iter(match=f"{prefix}*")]
    for key in keys:
        await redis.persist(key)
    # Move every member's expiry into the past.
    for key in (f"{prefix}s:1", f"{prefix}w:1", f"{prefix}l:1", f"{prefix}a"):
        members = await redis.zrange(key, 0, -1)
        await redis.zadd(key, dict.fromkeys(members, 1))
    assert await holds.holds_between(1, START, START + timedelta(hours=1)) == []
    await take(holds, 2)


async def test_capacity_counts_other_clients_holds(redis: Redis, redis_prefix: str) -> None:
    holds = store(redis, redis_prefix)
    # Room for two more appointments at the location during the hour.
    await take(holds, 1, specialist=1, workplace=1, capacity_left=2)
    await take(holds, 2, specialist=2, workplace=2, capacity_left=2)
    with pytest.raises(SlotTaken):
        await take(holds, 3, specialist=3, workplace=3, capacity_left=2)
    # After the others' service ends (a break does not use capacity), there is room.
    await take(
        holds, 3, specialist=3, workplace=3, capacity_left=2, start=START + timedelta(hours=1)
    )
    with pytest.raises(SlotTaken):
        await take(holds, 4, specialist=4, workplace=4, capacity_left=0)


async def test_holds_between_filters_by_interval(redis: Redis, redis_prefix: str) -> None:
    holds = store(redis, redis_prefix)
    await take(holds, 1, specialist=1, workplace=1, break_min=30)
    other_location = await take(holds, 2, location=2, specialist=2, workplace=2)
    assert other_location.location_id == 2
    # The blocked interval (with the break) reaches to +90 min.
    assert (
        len(await holds.holds_between(1, START + timedelta(minutes=80), START + timedelta(hours=3)))
        == 1
    )
    assert (
        await holds.holds_between(1, START + timedelta(minutes=90), START + timedelta(hours=3))
        == []
    )
    assert await holds.holds_between(1, START - timedelta(hours=1), START) == []
    here, there = sorted(
        await holds.holds_between(1, START, START + timedelta(minutes=1)),
        key=lambda h: h.location_id,
    )
    assert (here.client_id, here.specialist_id, here.workplace_id) == (1, 1, 1)
    # The client is busy for the service; specialist and workplace until the break ends.
    assert (here.start, here.end, here.blocked_until) == (
        START,
        START + timedelta(minutes=60),
        START + timedelta(minutes=90),
    )
    # A hold at another location is returned with its location: its specialist may work at
    # this one too, and must not be offered here at the same time.
    assert (there.location_id, there.specialist_id) == (2, 2)
    await holds.release(2)
    assert [
        h.location_id for h in await holds.holds_between(1, START, START + timedelta(hours=3))
    ] == [1]
