"""The time picker's buttons, one layout for booking and for moving an appointment.

A day's free times are `(Unix timestamp, "HH:MM" in the location's zone)`, in order. Up to
`TIMES_PER_PAGE` of them show as one grid; a day with more, spread over more than one part of
the day (morning, afternoon, evening), shows one part at a time with the parts as tabs above
(the active one marked `•`), and pages within the part. The page value a tab or pager button
carries is `part * PART_PAGES + page within the part`; the caller turns it into its own callback
data (`turn`), as it does a picked start (`pick`), so every press is re-validated by the flow
that drew it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import Enum

from aiogram.types import InlineKeyboardButton

TIMES_PER_PAGE = 24
TIMES_PER_ROW = 4
# The time step's page value: `part * PART_PAGES + page within that part`.
PART_PAGES = 100
# The largest page value a button carries: the evening's last page within bounds.
MAX_TIME_PAGE = 3 * PART_PAGES - 1

# A translator bound to the reader's language: `t("booking.part.morning") -> str`.
Translate = Callable[..., str]


class DayPart(int, Enum):
    """Parts of the day the time step groups many times by (local start hour)."""

    MORNING = 0  # before 12:00
    AFTERNOON = 1  # 12:00 to 16:59
    EVENING = 2  # from 17:00

    @classmethod
    def of(cls, hour: int) -> DayPart:
        return cls.MORNING if hour < 12 else cls.AFTERNOON if hour < 17 else cls.EVENING


def part_page(hour: int) -> int:
    """The page value that shows the part of the day of a start at local `hour`."""
    return DayPart.of(hour) * PART_PAGES


def _part(label: str) -> DayPart:
    return DayPart.of(int(label[:2]))


def time_rows(
    times: Sequence[tuple[int, str]],
    page: int,
    t: Translate,
    *,
    pick: Callable[[int], str],
    turn: Callable[[int], str],
) -> list[list[InlineKeyboardButton]]:
    """The picker's rows for all of one day's `times`: part tabs (many times only), the times
    of the shown page `TIMES_PER_ROW` to a row, then the pager. `page` out of range (a part
    with no time left, a page past the end) shows the nearest page that exists."""
    parts = sorted({_part(label) for _, label in times})
    rows: list[list[InlineKeyboardButton]] = []
    shown, base, inner = list(times), 0, max(page, 0) % PART_PAGES
    if len(times) > TIMES_PER_PAGE and len(parts) > 1:
        active = DayPart(min(max(page, 0) // PART_PAGES, DayPart.EVENING))
        if active not in parts:
            active, inner = parts[0], 0
        shown = [item for item in times if _part(item[1]) is active]
        base = active * PART_PAGES
        rows.append(
            [
                InlineKeyboardButton(
                    text=(
                        f"• {t(f'booking.part.{part.name.lower()}')}"
                        if part is active
                        else t(f"booking.part.{part.name.lower()}")
                    ),
                    callback_data=turn(part * PART_PAGES),
                )
                for part in parts
            ]
        )
    pages = max(1, -(-len(shown) // TIMES_PER_PAGE))
    inner = min(inner, pages - 1)
    on_page = shown[inner * TIMES_PER_PAGE : (inner + 1) * TIMES_PER_PAGE]
    buttons = [InlineKeyboardButton(text=label, callback_data=pick(ts)) for ts, label in on_page]
    rows += [buttons[i : i + TIMES_PER_ROW] for i in range(0, len(buttons), TIMES_PER_ROW)]
    pager = []
    if inner > 0:
        pager.append(
            InlineKeyboardButton(text=t("booking.btn.prev"), callback_data=turn(base + inner - 1))
        )
    if inner < pages - 1:
        pager.append(
            InlineKeyboardButton(text=t("booking.btn.next"), callback_data=turn(base + inner + 1))
        )
    if pager:
        rows.append(pager)
    return rows
