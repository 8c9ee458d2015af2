"""Holds, listings and confirms around another client's confirm, on the real PostgreSQL and
Redis, with the interleavings written out (docs/rules.md#holds, docs/rules.md#confirm).

A confirm commits in PostgreSQL, then (best effort, after the commit) bumps the slot cache's
version and gives its hold back in Redis. Whatever moment another client's read or hold falls
on, or if the confirming process dies in between (the update is then delivered again):
- a time just booked is neither offered nor held (the listing agrees with the hold);
- a hold that became an appointment is counted once, so a day whose workplaces are exactly
  used up still books every live hold.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.errors import SlotTaken
from bot.services.booking import BookingRequest
from bot.services.holds import Hold
from tests.integration.factories import (
    NOW,
    START,
    Catalog,
    Engine,
    build_engine,
    hold_start,
    make_catalog,
    make_client,
    money_invariant_violations,
    overlapping_active_appointments,
)

PRICE = Decimal("1000.00")


@pytest.fixture
async def eng(
    clean_db: Any,
    session_factory: async_sessionmaker[AsyncSession],
    redis: Redis,
    redis_prefix: str,
) -> Engine:
    return build_engine(session_factory, redis, redis_prefix)


def request_for(cat: Catalog, hold: Hold) -> BookingRequest:
    """The confirm the conversation sends for `hold` ("any" made definite by the hold)."""
    return BookingRequest(
        client_id=hold.client_id,
        location_id=cat.location_id,
        service_id=cat.service_id,
        specialist_id=hold.specialist_id,
        start=hold.start,
        hold_id=hold.hold_id,
        expected_price=hold.price,
        held_workplace=hold.workplace_id,
    )


def crashing_engine(
    eng: Engine, sessions: async_sessionmaker[AsyncSession], redis: Redis
) -> Engine:
    """An engine on the same database and Redis whose process dies right after a commit: its
    confirm books, and neither drops the cached day nor gives the hold back."""

    async def dead(*args: Any, **kwargs: Any) -> None:
        raise ConnectionError("the process died after its commit")

    crashed = build_engine(sessions, redis, eng.settings.redis_prefix)
    crashed.holds.release = dead  # type: ignore[method-assign]
    crashed.availability.invalidate = dead  # type: ignore[method-assign]
    return crashed


class Gate:
    """Pauses one awaited call of an object's method until the test opens the gate: `reached`
    is set when the call arrives, the call goes on after `open()`."""

    def __init__(self) -> None:
        self.reached = asyncio.Event()
        self._open = asyncio.Event()

    def open(self) -> None:
        self._open.set()

    def wrap(self, target: Any, name: str) -> None:
        original: Callable[..., Awaitable[Any]] = getattr(target, name)

        async def paused(*args: Any, **kwargs: Any) -> Any:
            self.reached.set()
            await self._open.wait()
            return await original(*args, **kwargs)

        setattr(target, name, paused)


@pytest.fixture
async def running() -> AsyncIterator[list[asyncio.Task[Any]]]:
    """Tasks a test starts; awaited (or cancelled) at its end."""
    tasks: list[asyncio.Task[Any]] = []
    yield tasks
    for task in tasks:
        if not task.done():
            task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def offered(eng: Engine, cat: Catalog, client: int) -> bool:
    """Whether the day's listing offers START to `client` ("any specialist")."""
    offers = await eng.availability.day_slots(
        location_id=cat.location_id,
        service_id=cat.service_id,
        specialist_id=None,
        day=START.astimezone(ZoneInfo(cat.timezone)).date(),
        now=NOW,
        client_id=client,
    )
    return any(o.start == START for o in offers)


async def refused(eng: Engine, cat: Catalog, client: int) -> bool:
    try:
        await hold_start(eng, cat, client)
    except SlotTaken:
        return True
    return False


# --- (A) the listing and the hold agree while a confirm finishes ------------------------------


async def test_a_time_just_booked_is_not_offered_at_any_step_after_the_commit(
    eng: Engine,
    session_factory: async_sessionmaker[AsyncSession],
    running: list[asyncio.Task[Any]],
) -> None:
    """One specialist, one workplace. The day's listing is cached; Y holds and confirms START.
    Paused right before the script call that bumps the cache version and gives the hold back,
    the time is taken in PostgreSQL: the listing must not offer it (Q's hold of it is
    refused)."""
    cat = await make_catalog(session_factory, specialists=1, workplaces=1, price=PRICE)
    y = await make_client(session_factory, balance=PRICE)
    q = await make_client(session_factory, balance=PRICE)
    assert await offered(eng, cat, q)  # cached now, as the clients saw it
    held = await hold_start(eng, cat, y)
    gate = Gate()
    gate.wrap(eng.availability, "invalidate")
    confirm = asyncio.create_task(eng.booking.confirm(request_for(cat, held), now=NOW))
    running.append(confirm)
    await gate.reached.wait()  # committed: the appointment is in PostgreSQL

    assert not await offered(eng, cat, q)
    assert await refused(eng, cat, q)
    gate.open()
    await confirm
    assert not await offered(eng, cat, q)


async def test_a_confirm_delivered_again_after_a_crash_finishes_the_first_ones_work(
    eng: Engine, session_factory: async_sessionmaker[AsyncSession], redis: Redis
) -> None:
    """The process that committed Y's booking died before giving the hold back and bumping
    the cache version; the update comes again and its confirm finds the appointment (one
    debit): it gives the spent hold back and drops the cached day."""
    cat = await make_catalog(session_factory, specialists=2, workplaces=2, price=PRICE)
    y = await make_client(session_factory, balance=PRICE)
    q = await make_client(session_factory, balance=PRICE)
    assert await offered(eng, cat, q)
    held = await hold_start(eng, cat, y)
    version_before = await _location_version(eng, redis, cat)

    crashed = crashing_engine(eng, session_factory, redis)
    first = await crashed.booking.confirm(request_for(cat, held), now=NOW)
    assert await eng.holds.get(y) is not None  # still there: nobody gave it back

    again = await eng.booking.confirm(request_for(cat, held), now=NOW)
    assert again.id == first.id
    assert await eng.holds.get(y) is None
    assert await _location_version(eng, redis, cat) != version_before
    async with session_factory() as s:
        debits = await s.scalar(
            text("SELECT count(*) FROM wallet_transactions WHERE kind = 'debit'")
        )
    assert debits == 1


async def _location_version(eng: Engine, redis: Redis, cat: Catalog) -> object:
    """The slot cache version of the location's date of START (bumped when that date's cached
    days are dropped)."""
    day = START.astimezone(ZoneInfo(cat.timezone)).date().isoformat()
    return await redis.get(f"{eng.settings.redis_prefix}:slots:ver:loc:{cat.location_id}:{day}")


# --- (B) a live hold is booked at confirm ------------------------------------------------------


@pytest.mark.parametrize("paused", ["invalidate", "crashed"])
async def test_a_booked_hold_not_yet_given_back_takes_one_workplace_not_two(
    eng: Engine,
    session_factory: async_sessionmaker[AsyncSession],
    redis: Redis,
    running: list[asyncio.Task[Any]],
    paused: str,
) -> None:
    """Two specialists, two workplaces, two clients holding START (exactly full). Y confirms;
    between its commit and its hold going back with the cache version's bump (or for good, if
    its process died), X's live
    hold must still book: Y's hold and Y's appointment are one booking, not two workplaces."""
    cat = await make_catalog(session_factory, specialists=2, workplaces=2, price=PRICE)
    y = await make_client(session_factory, balance=PRICE)
    x = await make_client(session_factory, balance=PRICE)
    y_hold = await hold_start(eng, cat, y)
    x_hold = await hold_start(eng, cat, x)
    assert y_hold.specialist_id != x_hold.specialist_id
    confirm: asyncio.Task[Any] | None = None
    if paused == "crashed":
        crashed = crashing_engine(eng, session_factory, redis)
        await crashed.booking.confirm(request_for(cat, y_hold), now=NOW)
    else:
        gate = Gate()
        gate.wrap(eng.availability, "invalidate")
        confirm = asyncio.create_task(eng.booking.confirm(request_for(cat, y_hold), now=NOW))
        running.append(confirm)
        await gate.reached.wait()
    assert await eng.holds.get(y) is not None  # Y's spent hold is still live

    other = build_engine(session_factory, redis, eng.settings.redis_prefix)
    view = await other.booking.confirm(request_for(cat, x_hold), now=NOW)
    assert (view.specialist_id, view.start) == (x_hold.specialist_id, START)
    if confirm is not None:
        gate.open()
        await confirm
    async with session_factory() as s:
        assert await overlapping_active_appointments(s) == {
            "specialist": 0,
            "workplace": 0,
            "client": 0,
        }


async def test_a_hold_is_not_granted_on_a_specialist_booked_while_it_was_being_taken(
    eng: Engine, session_factory: async_sessionmaker[AsyncSession], redis: Redis
) -> None:
    """Two specialists and workplaces; Y holds START on the first. Q asks for START ("any")
    and, while Q's hold reads the day, Y's confirm commits and gives its hold back. Q must
    not be given the specialist Y just booked (its confirm would then lose with its own live
    hold): Q holds the other one and books it."""
    cat = await make_catalog(session_factory, specialists=2, workplaces=2, price=PRICE)
    y = await make_client(session_factory, balance=PRICE)
    q = await make_client(session_factory, balance=PRICE)
    y_hold = await hold_start(eng, cat, y)
    other = build_engine(session_factory, redis, eng.settings.redis_prefix)
    holds_between = eng.holds.holds_between
    fired = False

    async def y_confirms_first(*args: Any, **kwargs: Any) -> Any:
        # Y's whole confirm (commit, cache version, hold given back) lands right before Q's
        # hold reads the live holds.
        nonlocal fired
        if not fired:
            fired = True
            await other.booking.confirm(request_for(cat, y_hold), now=NOW)
        return await holds_between(*args, **kwargs)

    eng.holds.holds_between = y_confirms_first  # type: ignore[method-assign]
    q_hold = await hold_start(eng, cat, q)
    assert fired
    assert q_hold.specialist_id != y_hold.specialist_id
    view = await eng.booking.confirm(request_for(cat, q_hold), now=NOW)
    assert view.specialist_id == q_hold.specialist_id


async def test_the_last_free_place_is_offered_and_held_next_to_a_spent_hold(
    eng: Engine, session_factory: async_sessionmaker[AsyncSession], redis: Redis
) -> None:
    """Two specialists and workplaces. Y's booking of START was committed by a process that
    died before giving the hold back: Y's hold and appointment are one booking, so the other
    specialist and workplace are still free; Q is offered START and holds it (the listing and
    the hold agree), and books it."""
    cat = await make_catalog(session_factory, specialists=2, workplaces=2, price=PRICE)
    y = await make_client(session_factory, balance=PRICE)
    q = await make_client(session_factory, balance=PRICE)
    y_hold = await hold_start(eng, cat, y)

    crashed = crashing_engine(eng, session_factory, redis)
    await crashed.booking.confirm(request_for(cat, y_hold), now=NOW)
    assert await eng.holds.get(y) is not None

    assert await offered(eng, cat, q)
    q_hold = await hold_start(eng, cat, q)
    assert q_hold.specialist_id != y_hold.specialist_id
    view = await eng.booking.confirm(request_for(cat, q_hold), now=NOW)
    assert view.specialist_id == q_hold.specialist_id


async def test_a_hold_counts_a_hold_booked_after_its_read_of_the_day(
    eng: Engine, session_factory: async_sessionmaker[AsyncSession], redis: Redis
) -> None:
    """Three specialists, two workplaces; Y holds START. Q's hold reads the day (Y's hold, no
    appointment yet); before its script runs, Y's confirm commits and gives the hold back, and
    Z holds START. Y's appointment, Z's hold and Q would need three workplaces: Q is refused
    (not granted a hold that makes Z's live hold lose at confirm), and Z books."""
    cat = await make_catalog(session_factory, specialists=3, workplaces=2, price=PRICE)
    y, z, q = [await make_client(session_factory, balance=PRICE) for _ in range(3)]
    y_hold = await hold_start(eng, cat, y)
    other = build_engine(session_factory, redis, eng.settings.redis_prefix)
    acquire = eng.holds.acquire
    z_holds: list[Hold] = []

    async def others_first(*args: Any, **kwargs: Any) -> Any:
        if not z_holds:
            await other.booking.confirm(request_for(cat, y_hold), now=NOW)
            z_holds.append(await hold_start(other, cat, z))
        return await acquire(*args, **kwargs)

    eng.holds.acquire = others_first  # type: ignore[method-assign]
    with pytest.raises(SlotTaken):
        await hold_start(eng, cat, q)
    assert z_holds
    view = await other.booking.confirm(request_for(cat, z_holds[0]), now=NOW)
    assert view.specialist_id == z_holds[0].specialist_id


async def test_a_kept_pair_taken_after_its_hold_lapsed_is_picked_again_under_the_locks(
    eng: Engine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    """The conversation keeps its hold's pair and confirm locks it without reading the hold
    back. X's hold lapses and Y books X's workplace at START with the other specialist: X's
    confirm finds its pair taken under the locks and books its specialist elsewhere (one
    workplace each, nothing overlaps), paid once."""
    cat = await make_catalog(session_factory, specialists=2, workplaces=2, price=PRICE)
    x = await make_client(session_factory, balance=PRICE)
    y = await make_client(session_factory, balance=PRICE)
    x_hold = await hold_start(eng, cat, x)
    await eng.holds.release(x)  # what expiry does
    other = next(s for s in cat.specialist_ids if s != x_hold.specialist_id)
    y_hold = await hold_start(eng, cat, y, specialist=other)
    y_request = replace(request_for(cat, y_hold), held_workplace=x_hold.workplace_id)
    y_view = await eng.booking.confirm(y_request, now=NOW)
    assert y_view.workplace_id == x_hold.workplace_id

    x_view = await eng.booking.confirm(request_for(cat, x_hold), now=NOW)
    assert x_view.specialist_id == x_hold.specialist_id
    async with session_factory() as session:
        assert set((await overlapping_active_appointments(session)).values()) == {0}
        workplaces = await session.execute(text("SELECT DISTINCT workplace_id FROM appointments"))
        assert len(workplaces.all()) == 2
        assert await money_invariant_violations(session) == []
        paid = await session.execute(
            text("SELECT balance FROM client_wallets WHERE client_id = :x"), {"x": x}
        )
        assert paid.scalar_one() == 0


async def test_clients_confirming_one_time_with_different_specialists_at_once_all_book(
    eng: Engine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    """Eight specialists who may work at any of eight workplaces; eight clients hold START, one
    specialist each (the holds fit, each reserving one workplace among all), then confirm at
    the same moment. Their holds may name the same workplace, so all but one find it taken
    under the locks; each must still book its own specialist on a free workplace (no client
    is told the time is gone while it fits), one workplace each, paid once."""
    n = 8
    cat = await make_catalog(session_factory, specialists=n, workplaces=n, price=PRICE)
    clients = [await make_client(session_factory, balance=PRICE) for _ in range(n)]
    holds = [
        await hold_start(eng, cat, client, specialist=specialist)
        for client, specialist in zip(clients, cat.specialist_ids, strict=True)
    ]
    views = await asyncio.gather(
        *(eng.booking.confirm(request_for(cat, hold), now=NOW) for hold in holds)
    )
    assert [v.specialist_id for v in views] == [h.specialist_id for h in holds]
    assert len({v.workplace_id for v in views}) == n
    async with session_factory() as session:
        assert set((await overlapping_active_appointments(session)).values()) == {0}
        assert await money_invariant_violations(session) == []
