"""Workplaces are re-assigned among a day's appointments so that a booking that fits is never
refused because of an earlier greedy choice (real PostgreSQL and Redis)."""

from __future__ import annotations

import asyncio
import contextlib
import random
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.domain import notification_kinds as kinds
from bot.domain.errors import AccessDenied, NotAllowed, SlotTaken, SlotUnavailable
from bot.domain.slots import DayPlan, SlotCandidate
from bot.domain.types import SlotQuery
from bot.services.booking import Actor, AppointmentView
from bot.services.holds import Hold
from db.models import Appointment, AuditEntry, Outbox, Workplace
from db.repositories import catalog as catalog_repo
from tests.integration.factories import (
    DESK_ADMIN,
    NOW,
    Catalog,
    Engine,
    booking_request,
    build_engine,
    make_catalog,
    make_client,
    make_clients,
    money_invariant_violations,
    overlapping_active_appointments,
)

TUESDAY = date(2031, 3, 4)
TUESDAY_0000 = datetime(2031, 3, 3, 21, 0, tzinfo=UTC)  # Tuesday 00:00 in Moscow


def moscow(hhmm: str) -> datetime:
    h, m = map(int, hhmm.split(":"))
    return TUESDAY_0000 + timedelta(hours=h, minutes=m)


async def book(
    eng: Engine,
    sessions: async_sessionmaker[AsyncSession],
    cat: Catalog,
    specialist: int,
    hhmm: str,
) -> AppointmentView:
    """A new client books `specialist` at `hhmm` on Tuesday (no hold: the engine chooses)."""
    client = await make_client(sessions, balance=Decimal("1000.00"))
    request = booking_request(cat, client, start=moscow(hhmm), specialist=specialist)
    return await eng.booking.confirm(request, now=NOW)


async def place(
    sessions: async_sessionmaker[AsyncSession],
    cat: Catalog,
    specialist: int,
    workplace: int,
    hhmm: str,
    *,
    booking_key: str | None = None,
) -> int:
    """An appointment written as a booking left it: 60 minutes, then the 15-minute break
    (`booking_key`: the hold it was booked with)."""
    client = await make_client(sessions)
    async with sessions() as s, s.begin():
        appt = Appointment(
            location_id=cat.location_id,
            service_id=cat.service_id,
            workplace_id=workplace,
            specialist_id=specialist,
            client_id=client,
            start_time=moscow(hhmm),
            end_time=moscow(hhmm) + timedelta(minutes=60),
            blocked_until=moscow(hhmm) + timedelta(minutes=75),
            price=cat.price,
            booking_key=booking_key,
        )
        s.add(appt)
        await s.flush()
        return appt.id


async def workplace_of(sessions: async_sessionmaker[AsyncSession], appointment_id: int) -> int:
    async with sessions() as s:
        return int(
            (
                await s.execute(
                    select(Appointment.workplace_id).where(Appointment.id == appointment_id)
                )
            ).scalar_one()
        )


async def test_a_greedy_day_makes_room_for_anna_at_10(
    clean_db: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    redis: Redis,
    redis_prefix: str,
) -> None:
    eng = build_engine(session_factory, redis, redis_prefix)
    # Two interchangeable workplaces, two specialists, 60 min + 15 min break.
    cat = await make_catalog(session_factory, specialists=2, workplaces=2, break_min=15)
    boris, anna = cat.specialist_ids
    one, two = cat.workplace_ids
    # As greedy booking left them (Boris 09:00, Anna 11:15, Boris 10:15, booked in that
    # order): Boris 09:00 and Anna 11:15 on workplace 1, Boris 10:15 on workplace 2.
    b9 = await place(session_factory, cat, boris, one, "09:00")
    a1115 = await place(session_factory, cat, anna, one, "11:15")
    b1015 = await place(session_factory, cat, boris, two, "10:15")
    placed = [one, one, two]
    offers = await eng.availability.day_slots(
        location_id=cat.location_id,
        service_id=cat.service_id,
        specialist_id=anna,
        day=TUESDAY,
        now=NOW,
    )
    assert moscow("10:00") in {o.start for o in offers}
    a10 = await book(eng, session_factory, cat, anna, "10:00")
    final = {i: await workplace_of(session_factory, i) for i in (b9, b1015, a10.id, a1115)}
    assert final[b9] == final[b1015]
    assert final[a10.id] == final[a1115] != final[b9]
    async with session_factory() as s:
        notices = (
            await s.execute(
                select(Outbox.appointment_id).where(Outbox.kind == kinds.SPECIALIST_WORKPLACE_MOVED)
            )
        ).scalars()
        moved = sorted(notices)
        assert await overlapping_active_appointments(s) == {
            "specialist": 0,
            "workplace": 0,
            "client": 0,
        }
    changed = sorted(i for i, w in zip((b9, a1115, b1015), placed, strict=True) if final[i] != w)
    assert moved == changed and changed != []


async def test_a_hold_tries_the_pairs_the_full_check_finds_in_its_order(
    clean_db: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    redis: Redis,
    redis_prefix: str,
) -> None:
    """The hold's lazy candidates are the authoritative check's, pair for pair and in rank
    order: a free time, one free only after re-assigning the day, and one taken."""
    eng = build_engine(session_factory, redis, redis_prefix)
    cat = await make_catalog(session_factory, specialists=3, workplaces=3, break_min=15)
    boris, anna, vera = cat.specialist_ids
    one, two, three = cat.workplace_ids
    # Vera's two appointments put her last in rank; workplace 3 is out for 10:00 as it is.
    await place(session_factory, cat, vera, three, "09:30")
    await place(session_factory, cat, vera, three, "13:00")
    await place(session_factory, cat, boris, one, "09:00")
    await place(session_factory, cat, anna, one, "11:15")
    await place(session_factory, cat, boris, two, "10:15")
    client = await make_client(session_factory)
    looked: list[list[tuple[int, int, tuple[tuple[int, int], ...]]]] = []
    for specialist, hhmm in [
        (None, "15:00"),
        (anna, "10:00"),
        (None, "10:00"),
        (boris, "09:30"),
    ]:
        query = SlotQuery(cat.location_id, cat.service_id, specialist)
        async with session_factory() as s, s.begin():
            full = await eng.availability.candidates(
                s,
                location_id=cat.location_id,
                service_id=cat.service_id,
                specialist_id=specialist,
                start=moscow(hhmm),
                now=NOW,
                client_id=client,
            )
            lazy, _, _ = await eng.availability.hold_candidates(
                s, query=query, start=moscow(hhmm), now=NOW, client_id=client
            )
            assert list(lazy) == full, (specialist, hhmm)
            looked.append([(c.specialist_id, c.workplace_id, c.moves) for c in full])
    anywhere, anna_at_10, _, boris_busy = looked
    # Fewest appointments that day first, then the lowest specialist id, then workplace.
    assert [(spec, wp) for spec, wp, _ in anywhere] == [
        (anna, one),
        (anna, two),
        (anna, three),
        (boris, one),
        (boris, two),
        (boris, three),
        (vera, one),
        (vera, two),
        (vera, three),
    ]
    # Anna at 10:00 fits only once Boris 10:15 and her 11:15 swap workplaces.
    assert anna_at_10 and all(moves for _, _, moves in anna_at_10)
    assert boris_busy == []


async def test_concurrent_bookings_of_a_day_that_fits_all_succeed(
    clean_db: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    redis: Redis,
    redis_prefix: str,
) -> None:
    eng = build_engine(session_factory, redis, redis_prefix)
    cat = await make_catalog(
        session_factory, specialists=4, workplaces=2, break_min=15, price=Decimal("100.00")
    )
    # Two back-to-back chains of 75-minute blocks, half an hour apart: at most two blocks at
    # once, so two workplaces fit them all; each specialist's blocks are 150 minutes apart.
    wanted = []
    for chain, offset in enumerate((0, 30)):
        for k in range(10):
            start = moscow("08:00") + timedelta(minutes=offset + 75 * k)
            wanted.append((cat.specialist_ids[2 * chain + k % 2], start))
    random.Random(9).shuffle(wanted)
    clients = await make_clients(session_factory, len(wanted), balance=Decimal("100.00"))
    requests = [
        booking_request(cat, c, start=start, specialist=spec)
        for c, (spec, start) in zip(clients, wanted, strict=True)
    ]
    results = await asyncio.gather(
        *(eng.booking.confirm(r, now=NOW) for r in requests), return_exceptions=True
    )
    assert [r for r in results if not isinstance(r, AppointmentView)] == []
    async with session_factory() as s:
        assert await overlapping_active_appointments(s) == {
            "specialist": 0,
            "workplace": 0,
            "client": 0,
        }
        assert await money_invariant_violations(s) == []
        count = (
            await s.execute(text("SELECT count(*) FROM appointments WHERE status = 'booked'"))
        ).scalar_one()
    assert count == len(wanted)


async def hold(eng: Engine, cat: Catalog, client: int, specialist: int | None, hhmm: str) -> Hold:
    return await eng.booking.hold(
        client_id=client,
        location_id=cat.location_id,
        service_id=cat.service_id,
        specialist_id=specialist,
        start=moscow(hhmm),
        now=NOW,
    )


async def offered(eng: Engine, cat: Catalog, specialist: int, client: int) -> set[datetime]:
    offers = await eng.availability.day_slots(
        location_id=cat.location_id,
        service_id=cat.service_id,
        specialist_id=specialist,
        day=TUESDAY,
        now=NOW,
        client_id=client,
    )
    return {o.start for o in offers}


async def test_a_hold_does_not_pin_a_workplace_a_reassignment_could_free(
    clean_db: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    redis: Redis,
    redis_prefix: str,
) -> None:
    """The stated day with its third booking still a hold: Boris 09:00 and Anna 11:15 booked
    on workplace 1, another client holding Boris 10:15 (on workplace 2, the only one free as
    things stand). Anna 10:00 fits (workplace 1: Boris 09:00 and 10:15; workplace 2: Anna 10:00
    and 11:15), so it is offered, held and booked; then the hold's owner books Boris 10:15."""
    eng = build_engine(session_factory, redis, redis_prefix)
    cat = await make_catalog(session_factory, specialists=2, workplaces=2, break_min=15)
    boris, anna = cat.specialist_ids
    one, two = cat.workplace_ids
    b9 = await place(session_factory, cat, boris, one, "09:00")
    a1115 = await place(session_factory, cat, anna, one, "11:15")
    holder, client = await make_clients(session_factory, 2, balance=Decimal("1000.00"))
    boris_hold = await hold(eng, cat, holder, boris, "10:15")
    assert (boris_hold.workplace_id, boris_hold.workplace_ids) == (two, frozenset({one, two}))
    assert moscow("10:00") in await offered(eng, cat, anna, client)
    anna_hold = await hold(eng, cat, client, anna, "10:00")
    anna_10 = await eng.booking.confirm(
        booking_request(
            cat, client, start=moscow("10:00"), specialist=anna, hold_id=anna_hold.hold_id
        ),
        now=NOW,
    )
    boris_1015 = await eng.booking.confirm(
        booking_request(
            cat, holder, start=moscow("10:15"), specialist=boris, hold_id=boris_hold.hold_id
        ),
        now=NOW,
    )
    final = [await workplace_of(session_factory, i) for i in (b9, boris_1015.id, anna_10.id, a1115)]
    assert final[0] == final[1] != final[2] == final[3]
    async with session_factory() as s:
        assert await overlapping_active_appointments(s) == {
            "specialist": 0,
            "workplace": 0,
            "client": 0,
        }


async def test_other_clients_holds_block_a_time_only_when_no_workplace_is_left(
    clean_db: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    redis: Redis,
    redis_prefix: str,
) -> None:
    """Three specialists, two workplaces. One client's hold at 10:00 leaves the other
    workplace: 10:00 is still offered to others, in the day view, the calendar and the
    booking check. A second hold takes the last workplace: 10:00 is gone for the third
    specialist although no hold names them. A booked appointment counts the same way."""
    eng = build_engine(session_factory, redis, redis_prefix)
    cat = await make_catalog(session_factory, specialists=3, workplaces=2, break_min=15)
    first, second, third = cat.specialist_ids
    a, b, c = await make_clients(session_factory, 3, balance=Decimal("1000.00"))
    ten = moscow("10:00")
    a_hold = await hold(eng, cat, a, first, "10:00")
    assert ten in await offered(eng, cat, second, c)
    assert ten in await offered(eng, cat, third, c)
    await hold(eng, cat, b, second, "10:00")
    assert ten not in await offered(eng, cat, third, c)
    assert moscow("10:15") not in await offered(eng, cat, third, c)  # inside the held hours
    assert moscow("11:15") in await offered(eng, cat, third, c)  # after the holds' break
    with pytest.raises(SlotTaken):
        await hold(eng, cat, c, third, "10:00")
    with pytest.raises(SlotTaken):
        await eng.booking.confirm(booking_request(cat, c, start=ten, specialist=third), now=NOW)
    # The first hold is booked and the second released: one workplace is free again.
    await eng.booking.confirm(
        booking_request(cat, a, start=ten, specialist=first, hold_id=a_hold.hold_id),
        now=NOW,
    )
    await eng.holds.release(b)
    assert ten in await offered(eng, cat, third, c)
    await hold(eng, cat, c, third, "10:00")
    # Now a booked appointment and a hold fill both workplaces.
    assert ten not in await offered(eng, cat, second, b)


async def test_concurrent_holds_never_outnumber_the_workplaces(
    clean_db: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    redis: Redis,
    redis_prefix: str,
) -> None:
    """Six clients, each for their own specialist, hold 10:00 at once on a location with one
    workplace booked at 10:00 and three hosting the service: two holds are granted; then
    every granted hold is booked, and nothing overlaps."""
    eng = build_engine(session_factory, redis, redis_prefix)
    cat = await make_catalog(session_factory, specialists=7, workplaces=3, break_min=15)
    await book(eng, session_factory, cat, cat.specialist_ids[6], "10:00")
    clients = await make_clients(session_factory, 6, balance=Decimal("1000.00"))
    results = await asyncio.gather(
        *(
            hold(eng, cat, client, spec, "10:00")
            for client, spec in zip(clients, cat.specialist_ids, strict=False)
        ),
        return_exceptions=True,
    )
    won = [r for r in results if isinstance(r, Hold)]
    assert len(won) == 2
    assert all(isinstance(r, Hold | SlotTaken) for r in results), results
    booked = await asyncio.gather(
        *(
            eng.booking.confirm(
                booking_request(
                    cat, h.client_id, start=h.start, specialist=h.specialist_id, hold_id=h.hold_id
                ),
                now=NOW,
            )
            for h in won
        )
    )
    assert len({await workplace_of(session_factory, v.id) for v in booked}) == 2
    async with session_factory() as s:
        assert await overlapping_active_appointments(s) == {
            "specialist": 0,
            "workplace": 0,
            "client": 0,
        }


async def test_an_admin_pins_an_appointment_to_another_workplace(
    clean_db: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    redis: Redis,
    redis_prefix: str,
) -> None:
    """ "Move to another workplace" in the admin card: the free workplaces are listed, the move
    checks the admin role in its transaction, writes the audit row and pins the appointment,
    and later re-assignment never moves it: on the stated day, with Boris 09:00 pinned to
    workplace 1 and Boris 10:15 to workplace 2 where they are, Anna 10:00 no longer fits (it
    needs both Boris appointments on one workplace) and is refused, while before the pins it
    was offered."""
    eng = build_engine(session_factory, redis, redis_prefix)
    cat = await make_catalog(session_factory, specialists=2, workplaces=2, break_min=15)
    boris, anna = cat.specialist_ids
    one, two = cat.workplace_ids
    b9 = await place(session_factory, cat, boris, one, "09:00")
    await place(session_factory, cat, anna, one, "11:15")
    b1015 = await place(session_factory, cat, boris, two, "10:15")
    client = (await make_clients(session_factory, 1, balance=Decimal("1000.00")))[0]
    assert moscow("10:00") in await offered(eng, cat, anna, client)
    admin = Actor(kind="admin", id=DESK_ADMIN)
    # Boris 10:15 is on 2; 1 is busy at 10:15 (Boris 09:00 and Anna 11:15 are there) unless
    # Anna 11:15 moves to 2... which Boris 10:15 leaves: workplace 1 is free after moves.
    assert await eng.booking.workplace_choices(b1015, actor=admin, now=NOW) == [
        (one, await name_of(session_factory, one))
    ]
    with pytest.raises(AccessDenied):
        await eng.booking.move_workplace(
            b1015, actor=Actor(kind="admin", id=999), workplace_id=one, now=NOW
        )
    with pytest.raises(NotAllowed):
        await eng.booking.move_workplace(
            b1015, actor=Actor(kind="client", id=client), workplace_id=one, now=NOW
        )
    assert await workplace_of(session_factory, b1015) == two  # refused: nothing changed
    for appointment_id, workplace_id in ((b9, one), (b1015, two)):
        view = await eng.booking.move_workplace(
            appointment_id, actor=admin, workplace_id=workplace_id, now=NOW
        )
        assert view.workplace_id == workplace_id  # the same workplace: pinned where it is
        async with session_factory() as s:
            pinned, audit = (
                await s.execute(
                    select(Appointment.workplace_pinned, func.count(AuditEntry.id))
                    .join(AuditEntry, AuditEntry.entity_id == Appointment.id)
                    .where(
                        Appointment.id == appointment_id,
                        AuditEntry.action == "appointment.workplace_pinned",
                        AuditEntry.actor_tg_id == DESK_ADMIN,
                    )
                    .group_by(Appointment.workplace_pinned)
                )
            ).one()
        assert pinned is True and audit == 1
    assert moscow("10:00") not in await offered(eng, cat, anna, client)
    with pytest.raises(SlotTaken):
        await book(eng, session_factory, cat, anna, "10:00")
    assert await workplace_of(session_factory, b1015) == two
    assert await workplace_of(session_factory, b9) == one


async def test_an_admin_workplace_move_makes_room_and_tells_the_specialists(
    clean_db: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    redis: Redis,
    redis_prefix: str,
) -> None:
    """Moving Anna 11:15 from workplace 1 to 2 by hand while Boris 11:00 sits on 2: refused
    with nothing changed while Boris 11:00 is pinned there; once it is not, Boris 11:00 moves
    to workplace 1 to make room, Anna 11:15 lands on 2 pinned, and both specialists get the
    "workplace changed" notice."""
    eng = build_engine(session_factory, redis, redis_prefix)
    cat = await make_catalog(session_factory, specialists=2, workplaces=2, break_min=15)
    boris, anna = cat.specialist_ids
    one, two = cat.workplace_ids
    a1115 = await place(session_factory, cat, anna, one, "11:15")
    b11 = await place(session_factory, cat, boris, two, "11:00")
    admin = Actor(kind="admin", id=DESK_ADMIN)

    async def pin_boris(pinned: bool) -> None:
        async with session_factory() as s, s.begin():
            await s.execute(
                update(Appointment).where(Appointment.id == b11).values(workplace_pinned=pinned)
            )

    await pin_boris(True)
    assert await eng.booking.workplace_choices(a1115, actor=admin, now=NOW) == []
    with pytest.raises(SlotTaken):
        await eng.booking.move_workplace(a1115, actor=admin, workplace_id=two, now=NOW)
    assert await workplace_of(session_factory, a1115) == one
    await pin_boris(False)
    assert [w for w, _ in await eng.booking.workplace_choices(a1115, actor=admin, now=NOW)] == [two]
    view = await eng.booking.move_workplace(a1115, actor=admin, workplace_id=two, now=NOW)
    assert view.workplace_id == two == await workplace_of(session_factory, a1115)
    assert await workplace_of(session_factory, b11) == one
    async with session_factory() as s:
        notices = (
            await s.execute(
                select(Outbox.appointment_id).where(Outbox.kind == kinds.SPECIALIST_WORKPLACE_MOVED)
            )
        ).scalars()
        assert sorted(notices) == sorted([a1115, b11])
        assert await overlapping_active_appointments(s) == {
            "specialist": 0,
            "workplace": 0,
            "client": 0,
        }


async def name_of(sessions: async_sessionmaker[AsyncSession], workplace_id: int) -> str:
    async with sessions() as s:
        return str(
            (
                await s.execute(select(Workplace.name).where(Workplace.id == workplace_id))
            ).scalar_one()
        )


async def test_a_check_of_one_pair_reads_its_reach_and_answers_as_the_whole_day(
    clean_db: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    redis: Redis,
    redis_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A confirm's check of its held pair, and a hold's checks of one specialist's pairs, read
    only the appointments of `DayPlan.reach` (the candidate's interval widened through
    overlapping holds). On three random days of appointments and other clients' holds (one
    location with a capacity cap), every (start, specialist, workplace) and every hold's
    pairs, re-assignments included, get the same answer as with the whole day read, and
    less is read."""
    eng = build_engine(session_factory, redis, redis_prefix)
    grid = [f"{h:02d}:{m:02d}" for h in range(9, 14) for m in (0, 15, 30, 45)]
    rows: list[int] = []
    read = catalog_repo.load_busy_where

    async def counted(*args: Any, **kwargs: Any) -> list[Any]:
        found = await read(*args, **kwargs)
        rows.append(len(found))
        return found

    monkeypatch.setattr(catalog_repo, "load_busy_where", counted)

    async def answers(cat: Catalog, client: int) -> list[list[tuple[object, ...]]]:
        out: list[list[tuple[object, ...]]] = []
        for hhmm in grid:
            for specialist in cat.specialist_ids:
                # A hold's pairs of one specialist, in order, re-assignment included.
                query = SlotQuery(cat.location_id, cat.service_id, specialist)
                async with session_factory() as s:
                    lazy, _, _ = await eng.availability.hold_candidates(
                        s, query=query, start=moscow(hhmm), now=NOW, client_id=client
                    )
                    out.append([(c.specialist_id, c.workplace_id, c.moves) for c in lazy])
                for workplace in cat.workplace_ids:
                    async with session_factory() as s, s.begin():
                        _, found = await eng.availability.evaluate(
                            s,
                            location_id=cat.location_id,
                            service_id=cat.service_id,
                            specialist_id=specialist,
                            start=moscow(hhmm),
                            now=NOW,
                            client_id=client,
                            fresh_calendar=True,
                            check_workplace=workplace,
                        )
                    out.append([(c.specialist_id, c.workplace_id, c.blocked_until) for c in found])
        return out

    reached: list[list[tuple[object, ...]]] = []
    whole: list[list[tuple[object, ...]]] = []
    reach_rows = whole_rows = 0
    for seed in (1, 2, 3):
        rng = random.Random(seed)
        cat = await make_catalog(
            session_factory,
            specialists=4,
            workplaces=3,
            break_min=15,
            capacity=3 if seed == 3 else None,
            opens=time(9),
            closes=time(15),
        )
        for _ in range(14):
            specialist = rng.choice(cat.specialist_ids)
            workplace = rng.choice(cat.workplace_ids)
            # One that overlaps an appointment placed already is refused by the constraints.
            with contextlib.suppress(DBAPIError):
                await place(session_factory, cat, specialist, workplace, rng.choice(grid))
        for holder in await make_clients(session_factory, 6, balance=Decimal("1000.00")):
            with contextlib.suppress(SlotTaken, SlotUnavailable):
                await hold(
                    eng, cat, holder, rng.choice([None, *cat.specialist_ids]), rng.choice(grid)
                )
        client = await make_client(session_factory)
        rows.clear()
        reached += await answers(cat, client)
        reach_rows += sum(rows)
        rows.clear()
        with monkeypatch.context() as whole_day:
            whole_day.setattr(DayPlan, "reach", lambda plan, start, holds: plan.window)
            whole += await answers(cat, client)
        whole_rows += sum(rows)
    assert reached == whole
    assert any(reached) and not all(reached)  # free and taken times both checked
    # Some holds fit only by re-assigning the day (moves name appointments).
    assert [c for found in reached for c in found if isinstance(c[2], tuple) and c[2]]
    assert reach_rows < whole_rows


async def test_a_hold_booked_beyond_the_reach_does_not_refuse_the_pair(
    clean_db: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    redis: Redis,
    redis_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Workplace 1 at 10:00 for Anna, with another client's hold 10:30-11:30 that may use
    workplaces 1 and 2, an appointment on workplace 3 at 11:15, and a hold on workplace 3 at
    12:00 that was booked on workplace 4 (its appointment carries its id). Read whole, the
    booked hold is its appointment and the first hold moves to 2: the pair is free. Its
    reach (10:00-11:30) holds neither that appointment nor that hold, and the answer is the
    same: holds beyond the reach take no part."""
    eng = build_engine(session_factory, redis, redis_prefix)
    cat = await make_catalog(session_factory, specialists=4, workplaces=4, break_min=15)
    anna, boris, vera, gleb = cat.specialist_ids
    one, two, three, four = cat.workplace_ids
    await place(session_factory, cat, vera, three, "11:15")
    first, booked, client = await make_clients(session_factory, 3, balance=Decimal("1000.00"))

    async def held(client_id: int, specialist: int, at: str, workplaces: set[int]) -> Hold:
        start = moscow(at)
        end = start + timedelta(minutes=60)
        return await eng.holds.acquire(
            client_id=client_id,
            query=SlotQuery(cat.location_id, cat.service_id, specialist),
            candidate=SlotCandidate(
                specialist_id=specialist,
                workplace_id=min(workplaces),
                start=start,
                end=end,
                blocked_until=end,
                price=cat.price,
                duration_min=60,
                break_min=0,
                workplace_ids=frozenset(workplaces),
            ),
        )

    await held(first, boris, "10:30", {one, two})
    spent = await held(booked, gleb, "12:00", {three})
    await place(session_factory, cat, gleb, four, "12:00", booking_key=spent.hold_id)

    async def look() -> list[tuple[int, int]]:
        async with session_factory() as s, s.begin():
            _, found = await eng.availability.evaluate(
                s,
                location_id=cat.location_id,
                service_id=cat.service_id,
                specialist_id=anna,
                start=moscow("10:00"),
                now=NOW,
                client_id=client,
                fresh_calendar=True,
                check_workplace=one,
            )
        return [(c.specialist_id, c.workplace_id) for c in found]

    assert await look() == [(anna, one)]
    with monkeypatch.context() as whole_day:
        whole_day.setattr(DayPlan, "reach", lambda plan, start, holds: plan.window)
        assert await look() == [(anna, one)]
