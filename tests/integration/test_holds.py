"""Redis holds: atomic under concurrency, one per client, expiry by the store's clock (Redis time
by default), capacity, and a workplace reserved among the compatible ones."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from redis.asyncio import Redis

import bot.services.holds as holds_module
from bot.domain import assignment
from bot.domain.assignment import Job
from bot.domain.errors import SlotTaken
from bot.domain.slots import SlotCandidate
from bot.domain.types import HeldInterval, SlotQuery
from bot.ops import metrics
from bot.services.holds import Hold, HoldStore
from tests.unit.test_assignment import busy_day

START = datetime(2031, 3, 4, 7, 0, tzinfo=UTC)
PRICE = Decimal("1000.00")


def store(redis: Redis, prefix: str, ttl: int = 600) -> HoldStore:
    return HoldStore(redis, prefix=prefix, ttl_seconds=ttl)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


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
    workplaces: Collection[int] = (),
    placed: Sequence[Job] = (),
    seen: Sequence[HeldInterval] = (),
) -> Hold:
    """`workplaces`: every workplace the hold may use (default: `workplace` only)."""
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
        workplace_ids=frozenset(workplaces),
    )
    return await holds.acquire(
        client_id=client,
        query=SlotQuery(location_id=location, service_id=1),
        candidate=candidate,
        capacity_left=capacity_left,
        ttl_seconds=ttl_seconds,
        placed=placed,
        seen=seen,
    )


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
    """Expiry is decided by the store's clock against the stored expiry, to the millisecond:
    the test moves the clock, nothing waits."""
    clock = Clock(datetime(2031, 3, 1, 9, 0, tzinfo=UTC))
    holds = HoldStore(redis, prefix=redis_prefix, ttl_seconds=600, clock=clock)
    hold = await take(holds, 1, ttl_seconds=1)
    assert hold.expires_at == clock.now + timedelta(seconds=1)
    clock.now += timedelta(milliseconds=999)
    assert await holds.get(1) is not None
    with pytest.raises(SlotTaken):
        await take(holds, 2)
    assert len(await holds.holds_between(1, START, START + timedelta(hours=1))) == 1
    clock.now += timedelta(milliseconds=1)
    assert await holds.get(1) is None
    assert await holds.holds_between(1, START, START + timedelta(hours=1)) == []
    await take(holds, 2)


async def test_without_a_clock_holds_expire_by_redis_time(redis: Redis, redis_prefix: str) -> None:
    """The default clock is Redis TIME: a hold's expiry is TTL after Redis's own now."""
    holds = store(redis, redis_prefix)
    seconds, micros = await redis.time()
    before = datetime.fromtimestamp(seconds + micros / 1e6, tz=UTC)
    hold = await take(holds, 1, ttl_seconds=30)
    seconds, micros = await redis.time()
    after = datetime.fromtimestamp(seconds + micros / 1e6, tz=UTC)
    slack = timedelta(milliseconds=1)
    assert before + timedelta(seconds=30) - slack <= hold.expires_at
    assert hold.expires_at <= after + timedelta(seconds=30) + slack


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
    for key in (f"{prefix}s:1", f"{prefix}l:1", f"{prefix}a"):
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


def job(start: datetime, minutes: int, current: int, *allowed: int) -> Job:
    """An appointment as PostgreSQL has it, for the hold script: on `current`, allowed on
    `allowed` (default: only `current`, i.e. it cannot move)."""
    return Job(
        0, start, start + timedelta(minutes=minutes), frozenset(allowed or {current}), current
    )


async def test_a_hold_reserves_one_of_its_workplaces_not_a_particular_one(
    redis: Redis, redis_prefix: str
) -> None:
    """Two workplaces that both host the service: two clients may hold the same time (with
    two specialists) even when both holds name workplace 1, and a third is refused: N holds
    never over-subscribe N-1 workplaces."""
    holds = store(redis, redis_prefix)
    both = (1, 2)
    await take(holds, 1, specialist=1, workplace=1, workplaces=both)
    await take(holds, 2, specialist=2, workplace=1, workplaces=both)
    with pytest.raises(SlotTaken) as refused:
        await take(holds, 3, specialist=3, workplace=2, workplaces=both)
    assert str(refused.value) == "held: workplace"
    # Once the first hold ends, the third fits.
    await take(
        holds, 3, specialist=3, workplace=2, workplaces=both, start=START + timedelta(hours=1)
    )


async def test_a_hold_sits_on_a_workplace_the_others_leave_free(
    redis: Redis, redis_prefix: str
) -> None:
    """Holds naming the same workplace sit where the assignment puts them: the first on the
    one it named, the second beside it (what a confirm locks first, so two clients' confirms
    of the same time do not both go for workplace 1); an appointment stays where it is."""
    holds = store(redis, redis_prefix)
    both = (1, 2)
    first = await take(holds, 1, specialist=1, workplace=1, workplaces=both)
    second = await take(holds, 2, specialist=2, workplace=1, workplaces=both)
    assert (first.workplace_id, second.workplace_id) == (1, 2)
    read_back = await holds.get(2)
    assert read_back is not None and read_back.workplace_id == 2
    live = await holds.holds_between(1, START, START + timedelta(hours=1))
    assert sorted((h.client_id, h.workplace_id) for h in live) == [(1, 1), (2, 2)]
    # An appointment on workplace 1 that could move: the hold goes around it, to 2.
    await holds.release(1)
    await holds.release(2)
    movable = [job(START, 60, 1, 1, 2)]
    hold = await take(holds, 3, specialist=3, workplace=1, workplaces=both, placed=movable)
    assert hold.workplace_id == 2


async def test_a_pinned_hold_keeps_its_workplace_and_others_go_around_it(
    redis: Redis, redis_prefix: str
) -> None:
    """A specialist pinned to workplace 2 reserves workplace 2 itself: a flexible hold on 2
    then sits on 1, and another hold pinned to 2, or a third flexible one, is refused."""
    holds = store(redis, redis_prefix)
    await take(holds, 1, specialist=1, workplace=2)  # pinned: workplace 2 only
    await take(holds, 2, specialist=2, workplace=2, workplaces=(1, 2))
    with pytest.raises(SlotTaken):
        await take(holds, 3, specialist=3, workplace=2)
    with pytest.raises(SlotTaken):
        await take(holds, 4, specialist=4, workplace=1, workplaces=(1, 2))


async def test_a_hold_counts_the_appointments_it_is_given(redis: Redis, redis_prefix: str) -> None:
    """Appointments read from PostgreSQL take part: one that cannot move (started, pinned)
    keeps its workplace; one that can may make room by moving (its own workplaces)."""
    holds = store(redis, redis_prefix)
    both = (1, 2)
    fixed = [job(START, 60, 2)]  # workplace 2 is taken for the hour, for good
    await take(holds, 1, specialist=1, workplace=1, workplaces=both, placed=fixed)
    with pytest.raises(SlotTaken):
        await take(holds, 2, specialist=2, workplace=1, workplaces=both, placed=fixed)
    await holds.release(1)
    # An appointment on workplace 1 that may move to 2, and a hold pinned to workplace 1: the
    # appointment goes to 2 and the hold fits; a second (flexible) hold then does not.
    movable = [job(START, 60, 1, 1, 2)]
    await take(holds, 1, specialist=1, workplace=1, placed=movable)
    with pytest.raises(SlotTaken):
        await take(holds, 2, specialist=2, workplace=2, workplaces=both, placed=movable)
    # The same appointment pinned to workplace 1: the pinned hold on 1 is refused.
    await holds.release(1)
    with pytest.raises(SlotTaken):
        await take(holds, 1, specialist=1, workplace=1, placed=[job(START, 60, 1)])


async def test_appointments_with_different_workplace_sets_each_keep_their_own(
    redis: Redis, redis_prefix: str
) -> None:
    """The script gets each distinct set of allowed workplaces once and the appointments
    refer to theirs: one fixed on workplace 1, one on 2 that may move to 3. A hold pinned to 2
    fits (the second appointment moves to 3); another pinned to 3 then does not."""
    holds = store(redis, redis_prefix)
    placed = [job(START, 60, 1), job(START, 60, 2, 2, 3)]
    hold = await take(holds, 1, specialist=1, workplace=2, placed=placed)
    assert hold.workplace_id == 2
    with pytest.raises(SlotTaken):
        await take(holds, 2, specialist=2, workplace=3, placed=placed)
    # The same appointments in the other order (the sets' indexes swap): the same answers.
    await holds.release(1)
    hold = await take(holds, 1, specialist=1, workplace=2, placed=placed[::-1])
    assert hold.workplace_id == 2
    with pytest.raises(SlotTaken):
        await take(holds, 2, specialist=2, workplace=3, placed=placed[::-1])


class Sent:
    """Records the placed appointments each acquire script call was given."""

    def __init__(self, holds: HoldStore) -> None:
        self.calls: list[list[list[object]]] = []
        script = holds._acquire

        async def recorded(*, args: list[object]) -> object:
            self.calls.append(json.loads(args[13]))  # type: ignore[arg-type]
            return await script(args=args)

        holds._acquire = recorded  # type: ignore[assignment]


async def test_a_hold_sends_the_script_only_the_appointments_it_reaches(
    redis: Redis, redis_prefix: str
) -> None:
    """A day of half-hour appointments on workplace 1, one every hour: a hold on workplace 2
    at 10:00-11:00 meets only the 10:00 one; the other nine keep their workplace whatever it
    does, and are not sent."""
    holds = store(redis, redis_prefix)
    sent = Sent(holds)
    day = [job(START + timedelta(hours=h), 30, 1, 1, 2) for h in range(10)]
    hold = await take(holds, 1, workplace=2, start=START + timedelta(hours=3), placed=day)
    assert hold.workplace_id == 2
    assert len(sent.calls) == 1 and len(sent.calls[0]) == 1
    # The appointment it meets still counts: a hold pinned to workplace 1 moves it to 2,
    # where the first hold sits, so it is refused.
    with pytest.raises(SlotTaken, match="workplace"):
        await take(holds, 2, specialist=2, start=START + timedelta(hours=3), placed=day)


async def test_a_hold_taken_since_the_read_that_links_further_brings_every_appointment(
    redis: Redis, redis_prefix: str
) -> None:
    """Workplace 1 is taken 10:00-11:00 for good; another client holds 10:30-12:30 on 2 or 3;
    workplace 2 is taken 12:00-13:00, so that hold needs 3. A new hold on 3 at 10:00-11:00 has
    no room, but only through the other hold, taken after the appointments were read (not
    seen): the caller sends the 10:00 appointment only, the script finds the other hold
    linking to times not sent and decides nothing, and the call again with every
    appointment refuses it."""
    holds = store(redis, redis_prefix)
    ten = START + timedelta(hours=3)
    await take(
        holds,
        1,
        specialist=1,
        workplace=2,
        workplaces=(2, 3),
        start=ten + timedelta(minutes=30),
        minutes=120,
    )
    sent = Sent(holds)
    placed = [job(ten, 60, 1), job(ten + timedelta(hours=2), 60, 2)]
    with pytest.raises(SlotTaken, match="workplace"):
        await take(holds, 2, specialist=2, workplace=3, start=ten, placed=placed)
    assert [len(call) for call in sent.calls] == [1, 2]
    # Without the 12:00 appointment the other hold may take 2, and the new one fits on 3.
    assert (
        await take(holds, 2, specialist=2, workplace=3, start=ten, placed=placed[:1])
    ).workplace_id == 3


async def test_a_hold_booked_as_an_appointment_moved_out_of_reach_is_that_appointment(
    redis: Redis, redis_prefix: str
) -> None:
    """Client 1's hold at 10:00-11:00 on workplace 1 was booked, and the appointment then
    moved to 15:00 (it keeps the hold's id as its booking key); the hold has not expired yet.
    The 15:00 appointment is beyond the new hold's reach and is not sent, but its booking
    key is: the old hold is that appointment, so workplace 1 and the capacity are free at
    10:00 for another client."""
    holds = store(redis, redis_prefix)
    ten = START + timedelta(hours=3)
    booked = await take(holds, 1, specialist=1, workplace=1, start=ten)
    (seen,) = await holds.holds_between(1, ten, ten + timedelta(hours=1))
    moved = Job(1, ten + timedelta(hours=5), ten + timedelta(hours=6), frozenset({1}), 1,
                booked.hold_id)  # fmt: skip
    sent = Sent(holds)
    hold = await take(holds, 2, specialist=2, workplace=1, start=ten, placed=[moved], seen=[seen])
    assert hold.workplace_id == 1 and sent.calls == [[]]
    await holds.release(2)
    hold = await take(
        holds, 2, specialist=2, start=ten, workplaces=(1, 2), capacity_left=1,
        placed=[moved], seen=[seen],
    )  # fmt: skip
    assert hold.workplace_id in (1, 2)


async def test_a_hold_sits_where_it_would_with_every_appointment_sent(
    redis: Redis, redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Appointments 20 and 21 both run 06:30-07:00, the ninth and tenth the caller read (eight
    short ones on workplace 9 come first, far earlier). The search breaks such ties by each
    appointment's place among all read, so the hold lands on the same workplace whether only
    the two it reaches are sent or, as before, all twelve."""

    def at(quarters: int) -> datetime:
        return START + timedelta(minutes=15 * quarters)

    placed = [
        Job(n, at(n - 20), at(n - 20) + timedelta(minutes=5), frozenset({9}), 9) for n in range(8)
    ]
    placed += [
        Job(20, at(2), at(4), frozenset({1, 2}), 2),
        Job(21, at(2), at(4), frozenset({1, 3}), 3),
        Job(22, at(4), at(7), frozenset({1}), 1),
        Job(23, at(4), at(6), frozenset({2, 3}), 2),
    ]
    holds = store(redis, redis_prefix)
    sent = Sent(holds)
    near = await take(
        holds, 1, workplace=2, workplaces=(2, 3), start=at(2), minutes=30, placed=placed
    )
    await holds.release(1)
    everything = (START - timedelta(days=1), START + timedelta(days=1))
    monkeypatch.setattr(assignment, "reach", lambda *args: everything)
    every = await take(
        holds, 1, workplace=2, workplaces=(2, 3), start=at(2), minutes=30, placed=placed
    )
    assert [len(call) for call in sent.calls] == [2, 12]
    assert near.workplace_id == every.workplace_id


async def test_many_clients_racing_for_three_workplaces_get_three_holds(
    redis: Redis, redis_prefix: str
) -> None:
    """Forty clients, each with their own specialist, hold the same hour at once on three
    interchangeable workplaces: exactly three holds are granted, whatever workplace each one
    named, and the granted ones hold different specialists."""
    holds = store(redis, redis_prefix)
    results = await asyncio.gather(
        *(
            take(holds, client, specialist=client, workplace=1 + client % 3, workplaces=(1, 2, 3))
            for client in range(1, 41)
        ),
        return_exceptions=True,
    )
    won = [r for r in results if isinstance(r, Hold)]
    assert len(won) == 3
    assert all(isinstance(r, Hold | SlotTaken) for r in results)
    live = await holds.holds_between(1, START, START + timedelta(hours=1))
    assert sorted(h.client_id for h in live) == sorted(h.client_id for h in won)
    assert all(h.allowed == frozenset({1, 2, 3}) for h in live)
    # Each sits on a workplace of its own.
    assert sorted(h.workplace_id for h in won) == [1, 2, 3]


async def test_a_search_that_gives_up_refuses_the_hold_and_is_counted(
    redis: Redis, redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A day of bench/slots.py whose new appointment fits after about 3,000 steps of the
    script: within a budget of 1,000 the hold is refused as 'search' (not 'workplace': no
    one proved the time full) and counted in `bot_hold_search_gave_up_total`; within the
    real budget it is held, on the workplace the Python search finds."""
    day = busy_day()
    [new] = [j for j in day if j.key == "new"]
    placed = [j._replace(current=j.current or min(j.allowed)) for j in day if j is not new]
    holds = store(redis, redis_prefix)
    counted = metrics.HOLD_SEARCH_GAVE_UP._value.get()
    monkeypatch.setattr(holds_module, "SEARCH_BUDGET", 1_000)
    with pytest.raises(SlotTaken) as refused:
        await take(holds, 1, workplace=21, start=new.start, minutes=90, placed=placed, specialist=9)
    assert str(refused.value) == "held: search"
    assert metrics.HOLD_SEARCH_GAVE_UP._value.get() == counted + 1
    monkeypatch.undo()
    hold = await take(
        holds, 1, workplace=21, start=new.start, minutes=90, placed=placed, specialist=9
    )
    assert hold.workplace_id == 21
    assert metrics.HOLD_SEARCH_GAVE_UP._value.get() == counted + 1
