"""Which duration, break and price apply to a (specialist, workplace) pair
(docs/rules.md#duration-price-and-break)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ServiceTerms:
    """The service's own defaults."""

    service_id: int
    duration_min: int
    break_min: int
    price: Decimal


@dataclass(frozen=True, slots=True)
class WorkplaceLink:
    """An active `workplace_services` row of an active workplace: the workplace hosts the
    service, optionally with its own price, duration and break."""

    workplace_id: int
    price: Decimal | None = None
    duration_min: int | None = None
    break_min: int | None = None


@dataclass(frozen=True, slots=True)
class SpecialistLink:
    """An active `service_specialists` row of an active specialist."""

    specialist_id: int
    custom_price: Decimal | None = None
    custom_duration: int | None = None


@dataclass(frozen=True, slots=True)
class Terms:
    duration_min: int
    break_min: int
    price: Decimal


def resolve_terms(
    service: ServiceTerms, workplace: WorkplaceLink, specialist: SpecialistLink
) -> Terms:
    """Apply the override order of docs/rules.md#duration-price-and-break.

    duration = custom_duration ?? workplace duration ?? service duration;
    price = custom_price ?? workplace price ?? service price;
    break = workplace break ?? service break (a specialist never shortens the cleanup).
    """
    duration = _first(specialist.custom_duration, workplace.duration_min, service.duration_min)
    price = _first(specialist.custom_price, workplace.price, service.price)
    break_min = _first(workplace.break_min, service.break_min)
    return Terms(duration_min=duration, break_min=break_min, price=price)


def _first(*values: T | None) -> T:
    for value in values:
        if value is not None:
            return value
    raise ValueError("no value given")
