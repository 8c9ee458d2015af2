"""The hold script's workplace search (`_LUA_ASSIGN`, run by Redis) against the Python search
(`bot.domain.assignment`): the same answer and the same workplace for the new job on random
days, with every start checked for room at once or after the first steps, and a busy day
found within a smaller step budget once the lists are narrowed."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from bot.domain.assignment import Job, assign_workplaces
from bot.services.holds import _LUA_ASSIGN
from tests.unit.test_assignment import busy_day

T0 = datetime(2031, 3, 4, 6, 0, tzinfo=UTC)

# ARGV: 1 the jobs ([[key, start, end, current, [allowed, ...]], ...]), 2 the step budget, 3 the
# steps before every start is checked for room.
# Returns {1 or 0, the new job's workplace or -1}. Jobs share one `allowed` table when their
# lists are equal, as the acquire script's jobs do.
_RUN = (
    _LUA_ASSIGN
    + """
local shared, jobs = {}, {}
for _, j in ipairs(cjson.decode(ARGV[1])) do
  local text = table.concat(j[5], ',')
  shared[text] = shared[text] or j[5]
  jobs[#jobs + 1] = {k = j[1], s = j[2], e = j[3], cur = j[4], allowed = shared[text]}
end
local ok, at = assignable(jobs, tonumber(ARGV[2]), tonumber(ARGV[3]))
return {ok and 1 or 0, at or -1}
"""
)


async def lua_assign(
    redis: Redis, jobs: list[Job], budget: int = 20_000, plain: int = 256
) -> tuple[bool, int]:
    """(whether the script finds an assignment, where it puts the job keyed "new"), checking
    every start for room after `plain` steps."""
    rows = [
        [
            str(job.key),
            (job.start - T0) // timedelta(minutes=1),
            (job.end - T0) // timedelta(minutes=1),
            job.current,
            sorted(job.allowed),
        ]
        for job in jobs
    ]
    ok, at = await redis.eval(_RUN, 0, json.dumps(rows), budget, plain)  # type: ignore[misc]
    return bool(ok), int(at)


def random_day(rnd: random.Random) -> list[Job]:
    """Up to 14 appointments on up to 5 workplaces (some held to one), and a new one."""
    workplaces = list(range(1, rnd.randint(2, 5) + 1))
    jobs = []
    for n in range(rnd.randint(0, 14)):
        start = rnd.randrange(0, 480, 15)
        allowed = sorted(rnd.sample(workplaces, rnd.randint(1, len(workplaces))))
        length = rnd.choice((30, 45, 60, 90))
        jobs.append(
            Job(f"a{n:02}", at(start), at(start + length), frozenset(allowed), rnd.choice(allowed))
        )
    start = rnd.randrange(0, 480, 15)
    allowed = sorted(rnd.sample(workplaces, rnd.randint(1, 2)))
    jobs.append(Job("new", at(start), at(start + 60), frozenset(allowed), allowed[0]))
    return jobs


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.mark.parametrize("plain", [256, 0], ids=["checked later", "checked at once"])
async def test_the_script_answers_as_the_python_search_on_random_days(
    redis: Redis, plain: int
) -> None:
    rnd = random.Random(20261202)
    held = refused = 0
    for _ in range(300):
        jobs = random_day(rnd)
        found = assign_workplaces(jobs)
        ok, where = await lua_assign(redis, jobs, plain=plain)
        assert ok == (found is not None), jobs
        if found is not None:
            assert where == found["new"], jobs
            held += 1
        else:
            refused += 1
    assert held > 50 and refused > 50  # both answers were exercised


async def test_a_busy_day_fits_within_a_smaller_budget_once_narrowed(redis: Redis) -> None:
    # A day of bench/slots.py (52 appointments on 10 workplaces). The script took 12,419 steps
    # to find room for the new appointment; 3,093 with the lists narrowed.
    # The script keys jobs by text and always knows the new job's workplace.
    jobs = [
        job._replace(key=str(job.key), current=job.current or min(job.allowed))
        for job in busy_day()
    ]
    found = assign_workplaces(jobs)
    assert found is not None
    assert await lua_assign(redis, jobs, budget=5_000) == (True, found["new"])
    assert await lua_assign(redis, jobs, budget=1_000) == (False, -1)  # still a budget
