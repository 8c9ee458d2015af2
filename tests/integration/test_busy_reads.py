"""The slot engine's busy reads give, for every shape of their filter (the location with or
without its workplaces, specialists, the client), exactly the active appointments that filter
names; the combined read gives what the two separate reads give (real PostgreSQL)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from db.models import Appointment
from db.repositories.catalog import busy_condition, load_busy, load_busy_where
from db.repositories.workplace_day import load_busy_and_workplace_day, load_workplace_day
from tests.integration.factories import make_catalog, make_client

DAY_0000 = datetime(2031, 3, 3, 21, 0, tzinfo=UTC)  # Tuesday 00:00 in Moscow


async def test_every_filter_shape_reads_what_it_names(
    clean_db: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    cat = await make_catalog(session_factory, specialists=2, workplaces=2)
    other = await make_catalog(session_factory, specialists=1, workplaces=1)
    anna, boris = cat.specialist_ids
    one, two = cat.workplace_ids
    mine, theirs = await make_client(session_factory), await make_client(session_factory)
    # (location, workplace, specialist, client, start hour); the last one is cancelled below.
    plan = [
        (cat.location_id, one, anna, mine, 9),
        (cat.location_id, two, boris, theirs, 9),
        (cat.location_id, two, anna, theirs, 11),
        (other.location_id, other.workplace_ids[0], other.specialist_ids[0], mine, 12),
        (cat.location_id, one, boris, theirs, 13),
        (cat.location_id, one, anna, theirs, 40),  # outside the window
        (cat.location_id, two, anna, mine, 15),
    ]
    ids = []
    async with session_factory() as s, s.begin():
        for location, workplace, specialist, client, hour in plan:
            start = DAY_0000 + timedelta(hours=hour)
            appt = Appointment(
                location_id=location,
                service_id=cat.service_id if location == cat.location_id else other.service_id,
                workplace_id=workplace,
                specialist_id=specialist,
                client_id=client,
                start_time=start,
                end_time=start + timedelta(minutes=60),
                blocked_until=start + timedelta(minutes=60),
                price=cat.price,
            )
            s.add(appt)
            await s.flush()
            ids.append(appt.id)
        await s.execute(
            update(Appointment).where(Appointment.id == ids[-1]).values(status="cancelled")
        )
    window = (DAY_0000, DAY_0000 + timedelta(days=1))
    active = list(zip(ids[:-2], plan[:-2], strict=True))  # in the window, not cancelled

    shapes = itertools.product(
        (None, cat.location_id), (None, [], [one]), ([], [anna]), (None, mine)
    )
    async with session_factory() as s:
        day = await load_workplace_day(s, cat.location_id, window, {})
        for location, workplaces, specialists, client in shapes:
            expected = [
                appointment_id
                for appointment_id, (loc, wp, spec, cl, _h) in active
                if (loc == location and (workplaces is None or wp in workplaces))
                or spec in specialists
                or cl == client
            ]
            busy = busy_condition(
                start=window[0],
                end=window[1],
                location_id=location,
                workplace_ids=workplaces,
                specialist_ids=specialists,
                client_id=client,
            )
            read = await load_busy(
                s,
                start=window[0],
                end=window[1],
                location_id=location,
                workplace_ids=workplaces,
                specialist_ids=specialists,
                client_id=client,
            )
            assert [a.appointment_id for a in read] == expected, (location, workplaces)
            if busy is None:
                assert expected == []
                continue
            assert [a.appointment_id for a in await load_busy_where(s, busy)] == expected
            both, both_day = await load_busy_and_workplace_day(s, busy, cat.location_id, window, {})
            assert [a.appointment_id for a in both] == expected
            assert both_day == day
    assert [p.appointment_id for p in day.appointments] == [ids[0], ids[1], ids[2], ids[4]]
