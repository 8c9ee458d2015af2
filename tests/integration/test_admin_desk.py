"""The admin front desk on the real PostgreSQL and Redis: roles checked on the server for every
action, the audit row committed with each change, invites, client search and card, money, the
day view, and appointment actions that reuse the booking engine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bench.begins import count_begins
from bot.domain.errors import (
    AccessDenied,
    InputProblem,
    InsufficientFunds,
    InvalidInput,
    InviteProblem,
    InviteRejected,
    NotAllowedReason,
)
from bot.services.admin.invites import START_PREFIX, hash_token
from bot.services.admin_gate import AdminGate
from bot.services.booking import Actor
from bot.services.clients import TelegramUser
from db.models import Client
from tests.integration.admin_support import (
    Desk,
    audit_actions,
    build_desk,
    database_fingerprint,
)
from tests.integration.factories import (
    DESK_ADMIN,
    NOW,
    START,
    Catalog,
    Engine,
    booking_request,
    build_engine,
    hold_start,
    make_catalog,
    make_client,
    money_invariant_violations,
)

# Registration's `now` only matters to a client who comes back after blocking the bot.
WALL_NOW = datetime.now(UTC)
STRANGER = 555_000_001  # a Telegram user who is no admin
NEW_ADMIN = 555_000_002


@pytest.fixture
async def eng(
    clean_db: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    redis: Redis,
    redis_prefix: str,
) -> Engine:
    return build_engine(session_factory, redis, redis_prefix)


@pytest.fixture
def desk(eng: Engine, session_factory: async_sessionmaker[AsyncSession], redis: Redis) -> Desk:
    return build_desk(eng, session_factory, redis)


@pytest.fixture
async def cat(session_factory: async_sessionmaker[AsyncSession]) -> Catalog:
    return await make_catalog(session_factory, specialists=2, workplaces=2)


async def q(sessions: async_sessionmaker[AsyncSession], sql: str, **params: Any) -> Any:
    async with sessions() as s:
        return (await s.execute(text(sql), params)).scalar_one()


# --- roles ---------------------------------------------------------------------------------------


async def test_added_admin_acts_and_loses_access_at_once_when_removed(
    desk: Desk, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    client = await make_client(session_factory)
    assert await desk.roles.add(DESK_ADMIN, NEW_ADMIN) is True
    assert await desk.roles.add(DESK_ADMIN, NEW_ADMIN) is False  # already one: nothing written
    await desk.clients.top_up(NEW_ADMIN, client, Decimal("100"), "cash")

    assert await desk.roles.remove(DESK_ADMIN, NEW_ADMIN) is True
    before = await database_fingerprint(session_factory)
    with pytest.raises(AccessDenied) as refused:
        await desk.clients.top_up(NEW_ADMIN, client, Decimal("100"), "cash")
    assert refused.value.reason is NotAllowedReason.NOT_ADMIN
    assert await database_fingerprint(session_factory) == before
    assert await audit_actions(session_factory) == ["admin.added", "wallet.topup", "admin.removed"]


async def test_admin_ids_cannot_be_removed_and_strangers_cannot_manage_admins(
    desk: Desk, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    before = await database_fingerprint(session_factory)
    with pytest.raises(AccessDenied) as permanent:
        await desk.roles.remove(DESK_ADMIN, DESK_ADMIN)
    assert permanent.value.reason is NotAllowedReason.PERMANENT_ADMIN
    for action in (
        desk.roles.add(STRANGER, STRANGER),
        desk.roles.remove(STRANGER, NEW_ADMIN),
        desk.roles.list(STRANGER),
        desk.audit.latest(STRANGER),
    ):
        with pytest.raises(AccessDenied):
            await action
    assert await database_fingerprint(session_factory) == before


async def test_admin_list_shows_permanent_then_added(desk: Desk) -> None:
    await desk.roles.add(DESK_ADMIN, NEW_ADMIN)
    listed = await desk.roles.list(DESK_ADMIN)
    assert [(a.tg_id, a.permanent, a.added_by) for a in listed] == [
        (DESK_ADMIN, True, None),
        (NEW_ADMIN, False, DESK_ADMIN),
    ]


async def test_removal_drops_the_cached_admin_profile(
    desk: Desk, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await desk.profiles.register(TelegramUser(tg_id=NEW_ADMIN, first_name="Olga"), now=WALL_NOW)
    await desk.roles.add(DESK_ADMIN, NEW_ADMIN)
    profile = await desk.profiles.get_profile(NEW_ADMIN)
    assert profile is not None and profile.is_admin
    await desk.roles.remove(DESK_ADMIN, NEW_ADMIN)
    profile = await desk.profiles.get_profile(NEW_ADMIN)
    assert profile is not None and not profile.is_admin


# --- invites -------------------------------------------------------------------------------------


def token_of(url: str) -> str:
    return url.split(f"?start={START_PREFIX}", 1)[1]


async def test_invite_links_the_account_once_and_stores_only_a_hash(
    desk: Desk, cat: Catalog, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    spec = cat.specialist_ids[0]
    invite = await desk.invites.create(DESK_ADMIN, spec, bot_username="salon_bot", now=NOW)
    assert invite.url.startswith("https://t.me/salon_bot?start=spec_")
    token = token_of(invite.url)
    assert len(token) >= 22  # >= 128 bits of URL-safe base64
    assert invite.expires_at == NOW + timedelta(hours=72)
    stored = await q(session_factory, "SELECT token_hash FROM specialist_invites")
    assert stored == hash_token(token) and token not in stored

    linked = await desk.invites.redeem(token, tg_id=777_000_001, now=NOW + timedelta(hours=1))
    assert linked.specialist_id == spec
    tg = await q(session_factory, "SELECT tg_id FROM specialists WHERE id = :s", s=spec)
    assert tg == 777_000_001

    before = await database_fingerprint(session_factory)
    with pytest.raises(InviteRejected) as used:
        await desk.invites.redeem(token, tg_id=777_000_002, now=NOW + timedelta(hours=2))
    assert used.value.reason is InviteProblem.USED
    assert await database_fingerprint(session_factory) == before


@pytest.mark.parametrize(
    ("token", "after", "problem"),
    [
        ("forged", timedelta(hours=1), InviteProblem.FORGED),
        ("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", timedelta(hours=1), InviteProblem.FORGED),
        ("../../etc", timedelta(hours=1), InviteProblem.FORGED),
        (None, timedelta(hours=72), InviteProblem.EXPIRED),
    ],
)
async def test_forged_and_expired_invites_change_nothing(
    desk: Desk,
    cat: Catalog,
    session_factory: async_sessionmaker[AsyncSession],
    token: str | None,
    after: timedelta,
    problem: InviteProblem,
) -> None:
    invite = await desk.invites.create(DESK_ADMIN, cat.specialist_ids[0], bot_username="b", now=NOW)
    before = await database_fingerprint(session_factory)
    with pytest.raises(InviteRejected) as rejected:
        await desk.invites.redeem(token or token_of(invite.url), tg_id=42, now=NOW + after)
    assert rejected.value.reason is problem
    assert await database_fingerprint(session_factory) == before


async def test_an_account_is_one_specialist_and_unlink_detaches_it(
    desk: Desk, cat: Catalog, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    first, second = cat.specialist_ids
    taken = await q(session_factory, "SELECT tg_id FROM specialists WHERE id = :s", s=first)
    invite = await desk.invites.create(DESK_ADMIN, second, bot_username="b", now=NOW)
    with pytest.raises(InviteRejected) as rejected:
        await desk.invites.redeem(token_of(invite.url), tg_id=taken, now=NOW)
    assert rejected.value.reason is InviteProblem.ACCOUNT_TAKEN

    assert await desk.invites.unlink(DESK_ADMIN, first) is True
    assert await desk.invites.unlink(DESK_ADMIN, first) is False
    assert await q(session_factory, "SELECT tg_id FROM specialists WHERE id = :s", s=first) is None
    with pytest.raises(AccessDenied):
        await desk.invites.unlink(STRANGER, second)
    assert await audit_actions(session_factory) == ["invite.created", "specialist.unlinked"]


async def test_the_invite_ttl_follows_the_setting(
    session_factory: async_sessionmaker[AsyncSession],
    redis: Redis,
    redis_prefix: str,
    clean_db: AsyncEngine,
    cat: Catalog,
) -> None:
    eng = build_engine(session_factory, redis, redis_prefix, invite_ttl_hours=2)
    desk = build_desk(eng, session_factory, redis)
    invite = await desk.invites.create(DESK_ADMIN, cat.specialist_ids[0], bot_username="b", now=NOW)
    assert invite.expires_at == NOW + timedelta(hours=2)


# --- clients -------------------------------------------------------------------------------------


async def client_with(sessions: async_sessionmaker[AsyncSession], **values: Any) -> int:
    client = await make_client(sessions)
    async with sessions() as s, s.begin():
        row = await s.get(Client, client)
        assert row is not None
        for key, value in values.items():
            setattr(row, key, value)
    return client


async def test_search_by_id_username_phone_and_name(
    desk: Desk, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    anna = await client_with(
        session_factory,
        first_name="Anna",
        last_name="Petrova",
        username="AnnaP",
        phone="+79161234567",
        tg_id=123456789,
    )
    annette = await client_with(session_factory, first_name="Annette", last_name="100%_real")
    await client_with(session_factory, first_name="Boris")

    async def ids(query: str) -> list[int]:
        return [c.id for c in await desk.clients.search(DESK_ADMIN, query)]

    assert await ids("123456789") == [anna]
    assert await ids("@annap") == [anna]
    assert await ids("8 (916) 123-45-67") == [anna]
    assert await ids("+7 916 123 45 67") == [anna]
    assert sorted(await ids("ann")) == sorted([anna, annette])
    assert await ids("anna petrova") == [anna]
    assert await ids("100%_") == [annette]  # LIKE wildcards are matched literally
    assert await ids("%%") == []  # literally two percent signs: nobody
    assert await ids("nobody") == []


async def test_walk_in_client_has_no_telegram_and_is_found_by_phone(
    desk: Desk, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    made, created = await desk.clients.find_or_create(
        DESK_ADMIN, name="Maria Ivanova", phone="8 916 555-00-11"
    )
    assert created and made.tg_id is None and made.phone == "+79165550011"
    again, created_again = await desk.clients.find_or_create(
        DESK_ADMIN, name="Someone Else", phone="+7 916 555 00 11"
    )
    assert (again.id, created_again) == (made.id, False)
    assert (
        await q(
            session_factory, "SELECT balance FROM client_wallets WHERE client_id = :c", c=made.id
        )
        == 0
    )
    with pytest.raises(InvalidInput) as bad:
        await desk.clients.find_or_create(DESK_ADMIN, name="X", phone="12")
    assert bad.value.reason is InputProblem.PHONE_INVALID
    with pytest.raises(InvalidInput) as long_name:
        await desk.clients.find_or_create(DESK_ADMIN, name="x" * 101, phone="+79165550012")
    assert long_name.value.reason is InputProblem.TEXT_TOO_LONG
    with pytest.raises(InvalidInput) as no_name:
        await desk.clients.find_or_create(DESK_ADMIN, name="  ", phone="+79165550012")
    assert no_name.value.reason is InputProblem.NAME_EMPTY
    assert await audit_actions(session_factory) == ["client.created"]


async def test_card_shows_contact_notes_money_and_history(
    eng: Engine, desk: Desk, cat: Catalog, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    client = await make_client(session_factory, balance=Decimal("5000"))
    hold = await hold_start(eng, cat, client)
    booked = await eng.booking.confirm(booking_request(cat, client, hold_id=hold.hold_id), now=NOW)
    await desk.clients.set_notes(DESK_ADMIN, client, "  prefers <b>mornings</b> ")
    await desk.clients.set_discount(DESK_ADMIN, client, Decimal("10"))

    card = await desk.clients.card(DESK_ADMIN, client, now=NOW)
    assert card.notes == "prefers <b>mornings</b>"  # stored as typed (escaped when shown)
    assert card.discount_percent == Decimal("10.00")
    assert card.balance == Decimal("4000.00")
    assert [e.kind for e in card.ledger] == ["debit", "topup"]
    assert [a.id for a in card.upcoming] == [booked.id] and card.past == []
    assert card.no_shows == 0

    await eng.booking.mark_status(
        booked.id,
        actor=Actor("admin", DESK_ADMIN),
        status="no_show",
        now=START + timedelta(minutes=5),
    )
    card = await desk.clients.card(DESK_ADMIN, client, now=START + timedelta(hours=2))
    assert card.no_shows == 1 and [a.id for a in card.past] == [booked.id]


async def test_blocked_client_cannot_book_and_keeps_appointments(
    eng: Engine, desk: Desk, cat: Catalog, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    client = await make_client(session_factory, balance=Decimal("5000"))
    hold = await hold_start(eng, cat, client)
    kept = await eng.booking.confirm(booking_request(cat, client, hold_id=hold.hold_id), now=NOW)
    assert await desk.clients.set_blocked(DESK_ADMIN, client, True) is True
    assert await desk.clients.set_blocked(DESK_ADMIN, client, True) is False

    with pytest.raises(AccessDenied) as refused:
        await eng.booking.confirm(
            booking_request(cat, client, start=START + timedelta(hours=3)), now=NOW
        )
    assert refused.value.reason is NotAllowedReason.CLIENT_BLOCKED
    assert await q(session_factory, "SELECT count(*) FROM appointments") == 1
    assert (
        await q(session_factory, "SELECT status FROM appointments WHERE id = :a", a=kept.id)
        == "booked"
    )

    await desk.clients.set_blocked(DESK_ADMIN, client, False)
    await eng.booking.confirm(
        booking_request(cat, client, start=START + timedelta(hours=3)), now=NOW
    )
    assert await audit_actions(session_factory) == ["client.blocked", "client.unblocked"]


# --- money ---------------------------------------------------------------------------------------


async def test_top_up_adjust_and_discount_write_ledger_and_audit_together(
    desk: Desk, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    client = await make_client(session_factory, balance=Decimal("100"))
    assert await desk.clients.top_up(DESK_ADMIN, client, Decimal("1500.50"), "cash") == Decimal(
        "1600.50"
    )
    assert await desk.clients.adjust(
        DESK_ADMIN, client, Decimal("-600.50"), "goodwill fix"
    ) == Decimal("1000.00")
    await desk.clients.set_discount(DESK_ADMIN, client, Decimal("15"))
    async with session_factory() as s:
        assert await money_invariant_violations(s) == []
        rows = (
            await s.execute(text("SELECT action, before, after FROM audit_log ORDER BY id"))
        ).all()
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("wallet.topup", {"value": "100.00"}, {"value": "1600.50", "comment": "cash"}),
        ("wallet.adjust", {"value": "1600.50"}, {"value": "1000.00", "comment": "goodwill fix"}),
        ("client.discount", {"value": "0.00"}, {"value": "15.00", "comment": None}),
    ]
    kinds = await q(
        session_factory,
        "SELECT string_agg(kind || ':' || created_by, ',' ORDER BY id) FROM wallet_transactions "
        "WHERE created_by IS NOT NULL",
    )
    assert kinds == f"topup:{DESK_ADMIN},adjustment:{DESK_ADMIN}"


async def test_adjust_below_zero_is_refused_with_the_balance(
    desk: Desk, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    client = await make_client(session_factory, balance=Decimal("300"))
    before = await database_fingerprint(session_factory)
    with pytest.raises(InsufficientFunds) as short:
        await desk.clients.adjust(DESK_ADMIN, client, Decimal("-300.01"), "oops")
    assert short.value.balance == Decimal("300.00")
    assert await database_fingerprint(session_factory) == before


@pytest.mark.parametrize(
    ("amount", "comment", "problem"),
    [
        (Decimal("0"), "x", InputProblem.AMOUNT_ZERO),
        (Decimal("1.001"), "x", InputProblem.AMOUNT_DECIMALS),
        (Decimal("1000000.01"), "x", InputProblem.AMOUNT_TOO_LARGE),
        (Decimal("-1000000.01"), "x", InputProblem.AMOUNT_TOO_LARGE),
        (Decimal("10"), "", InputProblem.TEXT_EMPTY),
        (Decimal("10"), "y" * 201, InputProblem.TEXT_TOO_LONG),
    ],
)
async def test_bad_adjustments_change_nothing(
    desk: Desk,
    session_factory: async_sessionmaker[AsyncSession],
    amount: Decimal,
    comment: str,
    problem: InputProblem,
) -> None:
    client = await make_client(session_factory, balance=Decimal("300"))
    before = await database_fingerprint(session_factory)
    with pytest.raises(InvalidInput) as bad:
        await desk.clients.adjust(DESK_ADMIN, client, amount, comment)
    assert bad.value.reason is problem
    assert await database_fingerprint(session_factory) == before


async def test_top_up_limits_and_discount_range(
    desk: Desk, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    client = await make_client(session_factory)
    before = await database_fingerprint(session_factory)
    for amount in (Decimal("-5"), Decimal("0"), Decimal("1000000.01"), Decimal("NaN")):
        with pytest.raises(InvalidInput):
            await desk.clients.top_up(DESK_ADMIN, client, amount, None)
    for percent in (Decimal("-1"), Decimal("100.01")):
        with pytest.raises(InvalidInput):
            await desk.clients.set_discount(DESK_ADMIN, client, percent)
    assert await database_fingerprint(session_factory) == before
    assert await desk.clients.top_up(DESK_ADMIN, client, Decimal("1000000"), None) == Decimal(
        "1000000.00"
    )


# --- day view and appointment actions ------------------------------------------------------------


async def test_day_view_by_location_and_specialist(
    eng: Engine, desk: Desk, cat: Catalog, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    first = await make_client(
        session_factory, balance=Decimal("5000"), discount_percent=Decimal("10")
    )
    second = await make_client(session_factory, balance=Decimal("5000"))
    a = await eng.booking.confirm(
        booking_request(cat, first, specialist=cat.specialist_ids[0]), now=NOW
    )
    b = await eng.booking.confirm(
        booking_request(
            cat, second, start=START - timedelta(hours=1), specialist=cat.specialist_ids[1]
        ),
        now=NOW,
    )
    day = START.astimezone(a.local_start.tzinfo).date()
    view = await desk.day.day(DESK_ADMIN, day, location_id=cat.location_id)
    assert [line.appointment.id for line in view.lines] == [b.id, a.id]
    assert [line.paid for line in view.lines] == [Decimal("1000.00"), Decimal("900.00")]
    by_specialist = await desk.day.day(DESK_ADMIN, day, specialist_id=cat.specialist_ids[0])
    assert [line.appointment.id for line in by_specialist.lines] == [a.id]
    assert (
        await desk.day.day(DESK_ADMIN, day + timedelta(days=1), location_id=cat.location_id)
    ).lines == []
    with pytest.raises(AccessDenied):
        await desk.day.day(STRANGER, day, location_id=cat.location_id)


async def test_admin_cancel_refunds_fully_tells_both_and_is_audited(
    eng: Engine, desk: Desk, cat: Catalog, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    client = await make_client(session_factory, balance=Decimal("1000"), tg_id=700_100_001)
    view = await eng.booking.confirm(booking_request(cat, client), now=NOW)
    late = START - timedelta(hours=1)  # a client would get nothing back now
    result = await eng.booking.cancel(
        view.id, actor=Actor("admin", DESK_ADMIN), now=late, reason="specialist is ill"
    )
    assert result.refund == Decimal("1000.00")
    assert await q(
        session_factory, "SELECT balance FROM client_wallets WHERE client_id = :c", c=client
    ) == Decimal("1000.00")
    reasons = await q(
        session_factory,
        "SELECT string_agg(recipient || ':' || (payload->>'reason'), ',' ORDER BY recipient) "
        "FROM outbox WHERE kind LIKE '%cancel%'",
    )
    assert reasons == "client:specialist is ill,specialist:specialist is ill"
    after = await q(
        session_factory, "SELECT after FROM audit_log WHERE action = 'appointment.cancelled'"
    )
    assert after == {"status": "cancelled", "refund": "1000.00", "reason": "specialist is ill"}


async def test_a_removed_admin_cannot_cancel_move_or_mark(
    eng: Engine, desk: Desk, cat: Catalog, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    client = await make_client(session_factory, balance=Decimal("1000"))
    view = await eng.booking.confirm(booking_request(cat, client), now=NOW)
    await desk.roles.add(DESK_ADMIN, NEW_ADMIN)
    await desk.roles.remove(DESK_ADMIN, NEW_ADMIN)
    gone = Actor("admin", NEW_ADMIN)
    before = await database_fingerprint(session_factory)
    for action in (
        eng.booking.cancel(view.id, actor=gone, now=NOW, reason="x"),
        eng.booking.reschedule(view.id, actor=gone, new_start=START + timedelta(hours=2), now=NOW),
        eng.booking.mark_status(view.id, actor=gone, status="completed", now=START),
        eng.booking.confirm(
            booking_request(cat, client, start=START + timedelta(hours=3)),
            now=NOW,
            booked_by=NEW_ADMIN,
        ),
    ):
        with pytest.raises(AccessDenied):
            await action
    assert await database_fingerprint(session_factory) == before


async def test_admin_moves_to_another_specialist_and_workplace(
    eng: Engine, desk: Desk, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    cat = await make_catalog(
        session_factory, specialists=2, workplaces=2, specialist_prices={1: Decimal("1500")}
    )
    client = await make_client(session_factory, balance=Decimal("2000"))
    view = await eng.booking.confirm(
        booking_request(cat, client, specialist=cat.specialist_ids[0]), now=NOW
    )
    other_workplace = next(w for w in cat.workplace_ids if w != view.workplace_id)
    moved = await eng.booking.reschedule(
        view.id,
        actor=Actor("admin", DESK_ADMIN),
        new_start=START + timedelta(hours=1),
        now=NOW,
        specialist_id=cat.specialist_ids[1],
        workplace_id=other_workplace,
    )
    assert (moved.specialist_id, moved.workplace_id) == (cat.specialist_ids[1], other_workplace)
    assert moved.start == START + timedelta(hours=1)
    # The price difference is settled: 500 more from the wallet.
    assert await q(
        session_factory, "SELECT balance FROM client_wallets WHERE client_id = :c", c=client
    ) == Decimal("500.00")
    async with session_factory() as s:
        assert await money_invariant_violations(s) == []
    assert await audit_actions(session_factory) == ["appointment.moved"]
    with pytest.raises(Exception, match="admin_only"):
        await eng.booking.reschedule(
            view.id,
            actor=Actor("client", client),
            new_start=START + timedelta(hours=2),
            now=NOW,
            specialist_id=cat.specialist_ids[0],
        )


async def test_book_for_a_walk_in_client_after_a_desk_top_up(
    eng: Engine, desk: Desk, cat: Catalog, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    walk_in, _ = await desk.clients.find_or_create(DESK_ADMIN, name="Walk In", phone="+79160000001")
    with pytest.raises(InsufficientFunds):
        await eng.booking.confirm(booking_request(cat, walk_in.id), now=NOW, booked_by=DESK_ADMIN)
    await desk.clients.top_up(DESK_ADMIN, walk_in.id, Decimal("1000"), "cash at the desk")
    view = await eng.booking.confirm(
        booking_request(cat, walk_in.id), now=NOW, booked_by=DESK_ADMIN
    )
    assert view.client_id == walk_in.id
    # No Telegram account: nothing is queued for the client, the specialist is told.
    recipients = await q(
        session_factory,
        "SELECT string_agg(DISTINCT recipient, ',') FROM outbox WHERE appointment_id = :a",
        a=view.id,
    )
    assert recipients == "specialist"
    assert await audit_actions(session_factory) == [
        "client.created",
        "wallet.topup",
        "appointment.booked",
    ]
    async with session_factory() as s:
        assert await money_invariant_violations(s) == []


async def test_latest_audit_is_newest_first_and_paged(
    desk: Desk, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    client = await make_client(session_factory)
    for amount in ("1", "2", "3"):
        await desk.clients.top_up(DESK_ADMIN, client, Decimal(amount), amount)
    page = await desk.audit.latest(DESK_ADMIN, limit=2)
    assert page.total == 3
    assert [e.after["comment"] for e in page.entries if e.after] == ["3", "2"]
    rest = await desk.audit.latest(DESK_ADMIN, limit=2, offset=2)
    assert [e.after["comment"] for e in rest.entries if e.after] == ["1"]
    assert all(e.actor_tg_id == DESK_ADMIN for e in page.entries)


async def test_every_specialist_is_listed_for_invites(
    desk: Desk, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    cat = await make_catalog(session_factory, specialists=12)
    listed = await desk.day.specialists(DESK_ADMIN)
    assert sorted(c.id for c in listed) == sorted(cat.specialist_ids)
    assert [c.name for c in listed] == sorted(c.name for c in listed)
    with pytest.raises(AccessDenied):
        await desk.day.specialists(STRANGER)


# --- round trips ---------------------------------------------------------------------------------


async def test_the_desks_reads_open_no_transaction(
    desk: Desk,
    eng: Engine,
    cat: Catalog,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """A use case that writes nothing reads outside a transaction (`read_session`): no BEGIN
    and no ROLLBACK, two round trips fewer each. Use cases that write still open one."""
    client = await make_client(session_factory, balance=Decimal("500"))
    with count_begins() as begins:
        await desk.day.day(DESK_ADMIN, START.date(), location_id=cat.location_id)
        await desk.day.day(DESK_ADMIN, START.date(), specialist_id=cat.specialist_ids[0])
        assert await desk.day.locations(DESK_ADMIN)
        assert await desk.day.specialists(DESK_ADMIN)
        await desk.day.find(DESK_ADMIN, "a")
        await desk.day.workplace_names(DESK_ADMIN, [(cat.workplace_ids[0], "?")], None)
        assert (await desk.clients.find(DESK_ADMIN, "", limit=5)).total >= 1
        assert (await desk.clients.get(DESK_ADMIN, client)).id == client
        assert (await desk.clients.card(DESK_ADMIN, client, now=NOW)).balance == Decimal("500")
        await desk.audit.latest(DESK_ADMIN)
        assert await desk.roles.list(DESK_ADMIN)
        assert await desk.roles.is_admin(DESK_ADMIN)
        await desk.roles.require(DESK_ADMIN)
        assert not await AdminGate(session_factory, eng.settings).is_admin(STRANGER)
        assert (await eng.wallet.balance_and_ledger(client)).balance == Decimal("500")
        assert await eng.booking.list_for_client(client, now=NOW) == []
        with pytest.raises(AccessDenied):
            await desk.audit.latest(STRANGER)  # refused on the server all the same
        assert begins.count == 0

        await desk.clients.set_notes(DESK_ADMIN, client, "regular")
        assert begins.count >= 1  # the counter sees a write's transaction
