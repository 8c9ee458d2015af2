"""The remaining guards of the schema, one bad row each (refused with its SQLSTATE and
constraint name) next to the good row that differs only in the guarded value (accepted), so a
guard that is missing, misnamed or too broad fails. Catalog entries, clients, the ledger, the
outbox, the waitlist and the audit log; appointments and money races are in `test_constraints.py`.

`:loc`, `:svc`, `:wp0`, `:wp1`, `:sp0`, `:sp1`, `:c0` and `:c1` are the ids of the world's
location, service, workplaces, specialists and clients.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.integration.constraints_support import (
    CHECK,
    UNIQUE,
    World,
    accepted,
    make_world,
    refused,
)

PARAM = re.compile(r"(?<![:\w]):(\w+)(?!:)")  # how text() finds its bind parameters


@dataclass(frozen=True)
class Case:
    constraint: str
    sqlstate: str
    bad: str
    good: str
    setup: tuple[str, ...] = ()


def appt(extra_cols: str = "", extra_vals: str = "", start: str = "10:00") -> str:
    return (
        "INSERT INTO appointments (location_id, service_id, workplace_id, specialist_id, "
        f"client_id, start_time, end_time, price{extra_cols}) VALUES (:loc, :svc, :wp0, :sp0, "
        f":c0, '2030-03-04 {start}+00', '2030-03-04 {start}+00'::timestamptz + interval '1 hour', "
        f"1500{extra_vals})"
    )


def outbox(key: str, recipient: str = "client", status: str = "pending", attempts: int = 0) -> str:
    return (
        "INSERT INTO outbox (dedupe_key, kind, recipient, chat_id, status, attempts) "
        f"VALUES ('{key}', 'client.confirm', '{recipient}', 1001, '{status}', {attempts})"
    )


def audit(action: str) -> str:
    return (
        "INSERT INTO audit_log (actor_tg_id, action, entity, entity_id) "
        f"VALUES (4242, '{action}', 'location', :loc)"
    )


def waitlist(status: str, specialist: str = "NULL", client: str = ":c0") -> str:
    return (
        "INSERT INTO waitlist (client_id, location_id, service_id, specialist_id, date, status) "
        f"VALUES ({client}, :loc, :svc, {specialist}, '2030-03-05', '{status}')"
    )


def ledger(kind: str = "topup", amount: str = "100", discount: str = "0") -> str:
    return (
        "INSERT INTO wallet_transactions (client_id, amount, kind, discount) "
        f"VALUES (:c0, {amount}, '{kind}', {discount})"
    )


CASES = [
    # clients
    Case(
        "ck_clients_language_known",
        CHECK,
        "INSERT INTO clients (tg_id, language) VALUES (2001, 'de')",
        "INSERT INTO clients (tg_id, language) VALUES (2001, 'en')",
    ),
    Case(
        "ck_clients_discount_percent_range",
        CHECK,
        "INSERT INTO clients (tg_id, discount_percent) VALUES (2002, 100.01)",
        "INSERT INTO clients (tg_id, discount_percent) VALUES (2002, 100)",
    ),
    Case(
        "ck_clients_discount_percent_range",
        CHECK,
        "INSERT INTO clients (tg_id, discount_percent) VALUES (2003, -0.01)",
        "INSERT INTO clients (tg_id, discount_percent) VALUES (2003, 0)",
    ),
    Case(
        "uq_clients_tg_id",
        UNIQUE,
        "INSERT INTO clients (tg_id) VALUES (1001)",
        "INSERT INTO clients (tg_id) VALUES (2004)",
    ),
    # locations, workplaces
    Case(
        "ck_locations_capacity_nonnegative",
        CHECK,
        "INSERT INTO locations (name, capacity) VALUES ('North', -1)",
        "INSERT INTO locations (name, capacity) VALUES ('North', 0)",
    ),
    Case(
        "uq_locations_name",
        UNIQUE,
        "INSERT INTO locations (name) VALUES ('Center')",
        "INSERT INTO locations (name) VALUES ('South')",
    ),
    Case(
        "uq_workplaces_location_name",
        UNIQUE,
        "INSERT INTO workplaces (location_id, name) VALUES (:loc, 'Chair 1')",
        "INSERT INTO workplaces (location_id, name) VALUES (:loc, 'Chair 3')",
    ),
    # services
    Case(
        "ck_services_duration_positive",
        CHECK,
        "INSERT INTO services (name, duration_min, price) VALUES ('Color', 0, 10)",
        "INSERT INTO services (name, duration_min, price) VALUES ('Color', 1, 10)",
    ),
    Case(
        "ck_services_break_nonnegative",
        CHECK,
        "INSERT INTO services (name, duration_min, break_min, price) VALUES ('Color', 30, -1, 10)",
        "INSERT INTO services (name, duration_min, break_min, price) VALUES ('Color', 30, 0, 10)",
    ),
    Case(
        "ck_services_price_nonnegative",
        CHECK,
        "INSERT INTO services (name, duration_min, price) VALUES ('Color', 30, -0.01)",
        "INSERT INTO services (name, duration_min, price) VALUES ('Color', 30, 0)",
    ),
    Case(
        "uq_services_name",
        UNIQUE,
        "INSERT INTO services (name, duration_min, price) VALUES ('Haircut', 30, 10)",
        "INSERT INTO services (name, duration_min, price) VALUES ('Shave', 30, 10)",
    ),
    # specialists and their services
    Case(
        "uq_specialists_name",
        UNIQUE,
        "INSERT INTO specialists (name) VALUES ('Anna')",
        "INSERT INTO specialists (name) VALUES ('Vera')",
    ),
    Case(
        "uq_specialists_tg_id",
        UNIQUE,
        "UPDATE specialists SET tg_id = 777 WHERE id = :sp1",
        "UPDATE specialists SET tg_id = 778 WHERE id = :sp1",
        setup=("UPDATE specialists SET tg_id = 777 WHERE id = :sp0",),
    ),
    Case(
        "ck_service_specialists_duration_positive",
        CHECK,
        "INSERT INTO service_specialists (service_id, specialist_id, custom_duration) "
        "VALUES (:svc, :sp0, 0)",
        "INSERT INTO service_specialists (service_id, specialist_id, custom_duration) "
        "VALUES (:svc, :sp0, 1)",
    ),
    Case(
        "ck_service_specialists_price_nonnegative",
        CHECK,
        "INSERT INTO service_specialists (service_id, specialist_id, custom_price) "
        "VALUES (:svc, :sp0, -1)",
        "INSERT INTO service_specialists (service_id, specialist_id, custom_price) "
        "VALUES (:svc, :sp0, 0)",
    ),
    Case(
        "uq_service_specialists_pair",
        UNIQUE,
        "INSERT INTO service_specialists (service_id, specialist_id) VALUES (:svc, :sp0)",
        "INSERT INTO service_specialists (service_id, specialist_id) VALUES (:svc, :sp1)",
        setup=("INSERT INTO service_specialists (service_id, specialist_id) VALUES (:svc, :sp0)",),
    ),
    # workplace services
    Case(
        "ck_workplace_services_duration_positive",
        CHECK,
        "INSERT INTO workplace_services (workplace_id, service_id, duration_min) "
        "VALUES (:wp0, :svc, 0)",
        "INSERT INTO workplace_services (workplace_id, service_id, duration_min) "
        "VALUES (:wp0, :svc, 1)",
    ),
    Case(
        "ck_workplace_services_break_nonnegative",
        CHECK,
        "INSERT INTO workplace_services (workplace_id, service_id, break_min) "
        "VALUES (:wp0, :svc, -1)",
        "INSERT INTO workplace_services (workplace_id, service_id, break_min) "
        "VALUES (:wp0, :svc, 0)",
    ),
    Case(
        "ck_workplace_services_price_nonnegative",
        CHECK,
        "INSERT INTO workplace_services (workplace_id, service_id, price) VALUES (:wp0, :svc, -1)",
        "INSERT INTO workplace_services (workplace_id, service_id, price) VALUES (:wp0, :svc, 0)",
    ),
    Case(
        "uq_workplace_services_pair",
        UNIQUE,
        "INSERT INTO workplace_services (workplace_id, service_id) VALUES (:wp0, :svc)",
        "INSERT INTO workplace_services (workplace_id, service_id) VALUES (:wp1, :svc)",
        setup=("INSERT INTO workplace_services (workplace_id, service_id) VALUES (:wp0, :svc)",),
    ),
    # one row per day
    Case(
        "uq_holidays_location_date",
        UNIQUE,
        "INSERT INTO holidays (location_id, date) VALUES (:loc, '2030-03-08')",
        "INSERT INTO holidays (location_id, date) VALUES (:loc, '2030-03-09')",
        setup=("INSERT INTO holidays (location_id, date) VALUES (:loc, '2030-03-08')",),
    ),
    Case(
        "uq_location_schedules_day",
        UNIQUE,
        "INSERT INTO location_schedules (location_id, day_of_week, is_day_off) "
        "VALUES (:loc, 1, true)",
        "INSERT INTO location_schedules (location_id, day_of_week, is_day_off) "
        "VALUES (:loc, 2, true)",
        setup=(
            "INSERT INTO location_schedules (location_id, day_of_week, start_time, end_time) "
            "VALUES (:loc, 1, '10:00', '18:00')",
        ),
    ),
    Case(
        "uq_specialist_schedules_day",
        UNIQUE,
        "INSERT INTO specialist_schedules (specialist_id, location_id, day_of_week, is_day_off) "
        "VALUES (:sp0, :loc, 1, true)",
        "INSERT INTO specialist_schedules (specialist_id, location_id, day_of_week, is_day_off) "
        "VALUES (:sp0, :loc, 2, true)",
        setup=(
            "INSERT INTO specialist_schedules (specialist_id, location_id, day_of_week, "
            "start_time, end_time) VALUES (:sp0, :loc, 1, '10:00', '18:00')",
        ),
    ),
    # appointments: money columns and the booking key
    Case(
        "ck_appointments_price_nonnegative",
        CHECK,
        appt().replace("1500)", "-1)"),
        appt().replace("1500)", "0)"),
    ),
    Case(
        "ck_appointments_discount_nonnegative",
        CHECK,
        appt(", discount", ", -0.01"),
        appt(", discount", ", 0"),
    ),
    Case(
        "uq_appointments_booking_key",
        UNIQUE,
        appt(", booking_key", ", 'hold-1'", start="14:00"),
        appt(", booking_key", ", 'hold-2'", start="14:00"),
        setup=(appt(", booking_key", ", 'hold-1'"),),
    ),
    # ledger
    Case("ck_wallet_transactions_kind_known", CHECK, ledger(kind="gift"), ledger(kind="topup")),
    Case("ck_wallet_transactions_amount_nonzero", CHECK, ledger(amount="0"), ledger(amount="1")),
    Case(
        "ck_wallet_transactions_discount_nonnegative",
        CHECK,
        ledger(kind="debit", amount="-10", discount="-1"),
        ledger(kind="debit", amount="-10", discount="0"),
    ),
    # outbox
    Case("ck_outbox_status_known", CHECK, outbox("o1", status="delivered"), outbox("o1")),
    Case("ck_outbox_recipient_known", CHECK, outbox("o2", recipient="robot"), outbox("o2")),
    Case("ck_outbox_attempts_nonnegative", CHECK, outbox("o3", attempts=-1), outbox("o3")),
    Case("uq_outbox_dedupe_key", UNIQUE, outbox("dup"), outbox("dup-2"), setup=(outbox("dup"),)),
    # audit log
    Case(
        "ck_audit_log_action_not_empty",
        CHECK,
        "INSERT INTO audit_log (actor_tg_id, action, entity) VALUES (1, '', 'location')",
        "INSERT INTO audit_log (actor_tg_id, action, entity) VALUES (1, 'close_date', 'location')",
    ),
    # waitlist
    Case("ck_waitlist_status_known", CHECK, waitlist("pending"), waitlist("waiting")),
    # One live entry per client, location, service, specialist (or any) and date: a second one
    # while the first waits (or holds an offer) is refused.
    Case(
        "uq_waitlist_one_waiting",
        UNIQUE,
        waitlist("offered"),
        waitlist("waiting", specialist=":sp0"),
        setup=(waitlist("waiting"),),
    ),
    # audit log: every row says what was done
    Case("ck_audit_log_action_not_empty", CHECK, audit(""), audit("location.holiday")),
]


@pytest.fixture
async def world(session: AsyncSession) -> World:
    return await make_world(session)


def ids(world: World) -> dict[str, int]:
    return {
        "loc": world.location,
        "svc": world.service,
        "wp0": world.workplaces[0],
        "wp1": world.workplaces[1],
        "sp0": world.specialists[0],
        "sp1": world.specialists[1],
        "c0": world.clients[0],
        "c1": world.clients[1],
    }


async def run(session: AsyncSession, sql: str, values: dict[str, int]) -> None:
    await session.execute(text(sql), {k: values[k] for k in PARAM.findall(sql)})


@pytest.mark.parametrize("case", CASES, ids=[f"{c.constraint}-{i}" for i, c in enumerate(CASES)])
async def test_bad_row_refused_good_row_accepted(
    session: AsyncSession, world: World, case: Case
) -> None:
    values = ids(world)
    for sql in case.setup:
        await run(session, sql, values)
    await refused(session, run(session, case.bad, values), case.sqlstate, case.constraint)
    await accepted(session, run(session, case.good, values))


async def test_outbox_and_waitlist_rows_cannot_be_moved_to_an_unknown_status(
    session: AsyncSession, world: World
) -> None:
    values = ids(world)
    await run(session, outbox("move"), values)
    await run(session, waitlist("waiting"), values)
    await refused(
        session,
        run(session, "UPDATE outbox SET status = 'done' WHERE dedupe_key = 'move'", values),
        CHECK,
        "ck_outbox_status_known",
    )
    await refused(
        session,
        run(session, "UPDATE waitlist SET status = 'booked' WHERE client_id = :c0", values),
        CHECK,
        "ck_waitlist_status_known",
    )
    for status in ("sent", "failed", "cancelled", "pending"):
        await accepted(
            session,
            run(
                session, f"UPDATE outbox SET status = '{status}' WHERE dedupe_key = 'move'", values
            ),
        )
    # The waiting entry leaves the live set, so the client may wait for that date again.
    for status in ("offered", "fulfilled", "cancelled", "expired"):
        await accepted(
            session,
            run(session, f"UPDATE waitlist SET status = '{status}' WHERE client_id = :c0", values),
        )
    await accepted(session, run(session, waitlist("waiting"), values))
