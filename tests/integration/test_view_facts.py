"""`appointments.view_facts` (plain rows on the driver) gives what the ORM view gave: the same
`AppointmentView` and the same notification facts, names in other languages, missing chats and
addresses included."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.booking_types import appointment_view
from bot.services.notifications import _appointment_facts
from db.models import Appointment
from db.repositories import appointments as appts
from tests.integration.notify_data import make_appointment, make_world

START = dt.datetime(2026, 3, 13, 9, 0, tzinfo=dt.UTC)


async def orm_row(session: AsyncSession, appointment_id: int) -> appts.ViewRow:
    """The ORM read as the confirm made it: values as the database gives them back."""
    statement = (
        appts.view_select()
        .where(Appointment.id == appointment_id)
        .execution_options(populate_existing=True)
    )
    return (await session.execute(statement)).one()


async def test_view_facts_give_the_views_and_facts_the_orm_rows_gave(
    session: AsyncSession,
) -> None:
    world = await make_world(session, client_tg=111, specialist_tg=222, client_lang="en")
    world.location.name_i18n = {"en": "Main salon"}
    world.service.name_i18n = {"en": "Haircut", "ru": "Стрижка"}
    world.workplace.name_i18n = {"en": "Chair"}
    world.client.username = "ivan"
    world.client.phone = "+79990000001"
    booked = await make_appointment(session, world, start=START, price=Decimal("1500.5"))
    # The second: its specialist's chat is gone, no address, a client without a chat.
    quiet = await make_world(session, client_tg=None, specialist_tg=333)
    quiet.specialist.chat_active = False
    quiet.location.address = None
    cancelled = await make_appointment(session, quiet, start=START, status="cancelled")
    await session.flush()
    for appointment in (booked, cancelled):
        facts = await appts.view_facts(session, appointment.id)
        assert facts is not None
        orm = await orm_row(session, appointment.id)
        assert appointment_view(facts) == appointment_view(orm)
        assert appointment_view(facts).names == appointment_view(orm).names  # compare=False
        appt, location, service, specialist, workplace, client = facts
        from_facts = await _appointment_facts(
            session, appointment.id, (appt, client, specialist, location, service, workplace)
        )
        o_appt, o_location, o_service, o_specialist, o_workplace, o_client = orm
        from_orm = await _appointment_facts(
            session,
            appointment.id,
            (o_appt, o_client, o_specialist, o_location, o_service, o_workplace),
        )
        assert from_facts == from_orm
    booked_view = appointment_view(await orm_row(session, booked.id))
    assert booked_view.price == Decimal("1500.50") and booked_view.names["service_name"] == {
        "en": "Haircut",
        "ru": "Стрижка",
    }
    assert (await _appointment_facts(session, booked.id, None)).client_chat is not None
    assert appointment_view(facts).status == "cancelled"
    assert await appts.view_facts(session, cancelled.id + 1000) is None
