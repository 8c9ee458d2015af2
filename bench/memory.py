"""Memory per user: the bot's RSS after N distinct users next to a bare aiogram echo bot's after
the same N, and what the bot keeps in Redis per user.

    python bench/memory.py [--users 10000] [--concurrency 200] [--warmup 10]
    python bench/memory.py --users 2000 --tracemalloc 15    # where the bot's growth lives

1. A throw-away database, migrated with Alembic, gets the catalog of `bench/stack.py` (two
   locations, two services, 16 specialists) and no client: every user is new to the bot.
2. Echo phase: the bare aiogram echo bot (`bench/stack.py --echo-bot`, its own process, long
   polling, one update at a time) and `--warmup` users who each send one message, then
   `--users` more distinct users who each send one message and wait for its echo, at most
   `--concurrency` waiting at a time.
3. Bot phase: `python -m bot` (its own process, long polling over HTTP against a fresh emulator,
   no notification worker), the same numbers of users each sending /start, what a new user does
   first: it creates the client's profile, the update's dedupe mark and the throttle bucket,
   and ends any conversation; each waits for the greeting.

The RSS of each bot process (VmRSS in /proc/PID/status) is read three times: once the process
polls (start), after the warm-up users (warm: lazy imports, connection pools and caches filled
by the first updates), and once every user was answered and the bot counted every update
(after); nothing triggers a garbage collection. Growth per 1,000 users is (after - warm) /
users x 1,000. Redis: the run's keys by kind and `MEMORY USAGE` summed over all of them (exact,
not sampled), per 1,000 users, and the server's `used_memory` before and after the users (that
one also moves with anything else using the same Redis).

Printed: both processes' RSS at start, warm and after, their growth per 1,000 users, the ratio
bot/echo of the RSS after, Redis bytes per 1,000 users, answer latency and the load average.
Exits non-zero unless every user was answered and every new user has a profile.

`--tracemalloc TOP` runs the bot under `tracemalloc` (10 frames) and prints the TOP source
lines whose allocations grew most between the warm and the after snapshot, with the
tracebacks of the first few: what the process holds per user. Tracing costs time and memory
of its own, so the RSS of such a run is not the figure to report.

Environment: `BENCH_DATABASE_ADMIN_URL` (default postgresql://postgres@127.0.0.1:5432/postgres),
`REDIS_URL` (default redis://127.0.0.1:6379/0).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import signal
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import FrameType

import asyncpg
from redis.asyncio import Redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import stack  # noqa: E402
from bench.common import (  # noqa: E402
    ADMIN_URL,
    db_url,
    discard_redis,
    migrate,
    summary,
    throwaway_database,
)
from bench.redis_update import memory_by_kind  # noqa: E402
from bench.stack import Step  # noqa: E402
from bot.emulator import DEFAULT_TOKEN, BotAPIEmulator  # noqa: E402
from bot.emulator.users import SimUser  # noqa: E402

Script = Callable[[int, SimUser, Step], Awaitable[None]]
COUNTED_TIMEOUT = 30.0  # seconds for the bot's counter to catch up with the last answer
TRACE_FRAMES = 10
SNAPSHOT_TIMEOUT = 120.0  # seconds for a traced bot to write a snapshot


def rss_kib(pid: int) -> int:
    """Resident set size of process `pid` in KiB (VmRSS of /proc/PID/status, Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


@dataclass
class Phase:
    """What one bot's phase measured (RSS in KiB, Redis in bytes)."""

    users: int
    rss_start: int = 0
    rss_warm: int = 0
    rss_after: int = 0
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    redis_keys: dict[str, tuple[int, int]] = field(default_factory=dict)
    redis_used_before: int = 0
    redis_used_after: int = 0
    # With --tracemalloc: the report's lines on the bot's allocation growth.
    traced: list[str] = field(default_factory=list)

    @property
    def growth_per_1000(self) -> float:
        """KiB of RSS per 1,000 users after the warm-up."""
        return (self.rss_after - self.rss_warm) / max(self.users, 1) * 1000


async def drive(
    emulator: BotAPIEmulator,
    pid: int,
    phase: Phase,
    warmup: int,
    concurrency: int,
    script: Script,
    settle: Callable[[int], Awaitable[None]],
) -> None:
    """Warm-up users, then `phase.users` distinct users, at most `concurrency` waiting for an
    answer at a time, reading the RSS before, between and after; `settle(updates)` returns
    once the process has finished `updates` updates."""
    gate = asyncio.Semaphore(concurrency)

    async def bounded(index: int, user: SimUser, step: Step) -> None:
        async with gate:
            await script(index, user, step)

    phase.rss_start = rss_kib(pid)
    warm = await stack.run_clients(emulator, warmup, bounded)
    phase.failures += warm.failures
    await settle(warmup)
    phase.rss_warm = rss_kib(pid)
    began = time.perf_counter()
    run = await stack.run_clients(emulator, phase.users, bounded, first=warmup)
    phase.elapsed = time.perf_counter() - began
    phase.failures += run.failures
    phase.latencies = run.latencies
    await settle(warmup + phase.users)
    phase.rss_after = rss_kib(pid)
    if run.updates != phase.users:
        phase.failures.append(f"only {run.updates} of {phase.users} users were answered")


async def echo_phase(users: int, warmup: int, concurrency: int, workdir: Path) -> Phase:
    phase = Phase(users)
    async with BotAPIEmulator(DEFAULT_TOKEN) as emulator:
        env = {**os.environ, "TELEGRAM_API_URL": emulator.url, "BOT_TOKEN": emulator.token}
        proc = await stack.start_process(emulator, [stack.__file__, "--echo-bot"], env, workdir)

        async def script(index: int, user: SimUser, step: Step) -> None:
            text = f"ping {index}"
            await step(partial(user.send, text), text)

        async def settle(updates: int) -> None:
            return None  # the echo is the last thing its handler does

        try:
            await drive(emulator, proc.pid, phase, warmup, concurrency, script, settle)
        finally:
            await stack.stop_process(proc)
    return phase


async def bot_phase(
    users: int,
    warmup: int,
    concurrency: int,
    url: str,
    prefix: str,
    workdir: Path,
    *,
    trace_top: int = 0,
) -> Phase:
    phase = Phase(users)
    port = stack.free_port()
    redis = Redis.from_url(stack.REDIS_URL)
    snapshots: list[Path] = []
    try:
        async with BotAPIEmulator(DEFAULT_TOKEN) as emulator:
            env = stack.bot_env(emulator, url, prefix, port, days=1)
            args = ["-m", "bot"]
            if trace_top:
                env["BENCH_SNAPSHOT_DIR"] = str(workdir)
                args = [__file__, "--traced-bot"]
            proc = await stack.start_process(emulator, args, env, workdir)
            counted_before = (await stack.scrape(port))["bot_updates_total"]

            async def script(index: int, user: SimUser, step: Step) -> None:
                greeting = stack.t("start.greeting", name=user.first_name)
                await step(partial(user.send, "/start"), greeting)

            async def settle(updates: int) -> None:
                # The bot counts an update once its handler returns, just after the greeting.
                deadline = time.monotonic() + COUNTED_TIMEOUT
                while True:
                    counted = (await stack.scrape(port))["bot_updates_total"] - counted_before
                    if counted >= updates or time.monotonic() > deadline:
                        break
                    await asyncio.sleep(0.05)
                if counted < updates:
                    phase.failures.append(f"the bot counted {counted:.0f} of {updates} updates")
                if trace_top:
                    snapshots.append(await snapshot(proc.pid, workdir, len(snapshots) + 1))

            async def used_memory() -> int:
                return int((await redis.info("memory"))["used_memory"])

            try:
                phase.redis_used_before = await used_memory()
                await drive(emulator, proc.pid, phase, warmup, concurrency, script, settle)
                phase.redis_used_after = await used_memory()
                phase.redis_keys = await memory_by_kind(redis, prefix)
            finally:
                await stack.stop_process(proc)
    finally:
        await discard_redis(redis, prefix)
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        profiles = await conn.fetchval("SELECT count(*) FROM clients")
    finally:
        await conn.close()
    if profiles != users + warmup:
        phase.failures.append(f"{profiles} client profiles for {users + warmup} new users")
    if len(snapshots) == 2:
        phase.traced = growth(*snapshots, top=trace_top, users=users)
    return phase


# --- tracemalloc --------------------------------------------------------------------------------


def traced_bot() -> None:
    """`python -m bot` under tracemalloc: SIGUSR1 writes snapshot-N (N = 1, 2, ...) into
    `BENCH_SNAPSHOT_DIR` (through a temporary name, so a file that exists is complete)."""
    import runpy

    tracemalloc.start(TRACE_FRAMES)
    out = Path(os.environ["BENCH_SNAPSHOT_DIR"])
    taken = itertools.count(1)

    def dump(signum: int, frame: FrameType | None) -> None:
        n = next(taken)
        tracemalloc.take_snapshot().dump(str(out / f"snapshot-{n}.tmp"))
        (out / f"snapshot-{n}.tmp").rename(out / f"snapshot-{n}")

    signal.signal(signal.SIGUSR1, dump)
    sys.argv = ["bot"]
    runpy.run_module("bot", run_name="__main__", alter_sys=True)


async def snapshot(pid: int, workdir: Path, n: int) -> Path:
    """Ask the traced bot `pid` for snapshot `n` and return its file once written."""
    path = workdir / f"snapshot-{n}"
    os.kill(pid, signal.SIGUSR1)
    deadline = time.monotonic() + SNAPSHOT_TIMEOUT
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"the traced bot wrote no {path.name}")
        await asyncio.sleep(0.1)
    return path


def growth(warm: Path, after: Path, *, top: int, users: int) -> list[str]:
    """The `top` source lines whose live allocations grew most from `warm` to `after`, per
    1,000 users, and the tracebacks of the first three."""
    ignore = [tracemalloc.Filter(False, tracemalloc.__file__)]
    old = tracemalloc.Snapshot.load(str(warm)).filter_traces(ignore)
    new = tracemalloc.Snapshot.load(str(after)).filter_traces(ignore)
    total = sum(s.size for s in new.statistics("filename")) - sum(
        s.size for s in old.statistics("filename")
    )
    lines = [
        f"traced growth      {total / 1024:.0f} KiB live Python allocations over {users} users "
        f"({total / max(users, 1) * 1000 / 1024:.0f} KiB per 1,000); top lines:"
    ]
    stats = new.compare_to(old, "lineno")[:top]
    for stat in stats:
        frame = stat.traceback[0]
        lines.append(
            f"  {stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+7d} blocks  "
            f"{frame.filename}:{frame.lineno}"
        )
    for stat in new.compare_to(old, "traceback")[:3]:
        lines.append(f"  traceback of {stat.size_diff / 1024:+.1f} KiB:")
        lines += [f"    {line}" for line in stat.traceback.format(most_recent_first=True)]
    return lines


def mib(kib: float) -> str:
    return f"{kib / 1024:7.1f} MiB"


def report(echo: Phase, bot: Phase, warmup: int, concurrency: int) -> list[str]:
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    everyone = bot.users + warmup
    redis_bytes = sum(size for _, size in bot.redis_keys.values())
    redis_keys = sum(count for count, _ in bot.redis_keys.values())
    used_delta = bot.redis_used_after - bot.redis_used_before
    lines = [
        f"users              {bot.users} distinct, after {warmup} warm-up users, at most "
        f"{concurrency} waiting at a time; echo: one message each, bot: /start each (new users)",
        f"load average       {load} ({os.cpu_count()} CPUs) at the end",
    ]
    for label, phase in (("echo bot", echo), ("bot", bot)):
        lines.append(
            f"{label + ' RSS':<18} start {mib(phase.rss_start)}, warm {mib(phase.rss_warm)}, "
            f"after {mib(phase.rss_after)} (x{phase.rss_after / max(phase.rss_start, 1):.3f} "
            f"of start); {phase.growth_per_1000:.0f} KiB per 1,000 users "
            f"({phase.users / phase.elapsed if phase.elapsed else 0:.0f} users/s)"
        )
    ratio = bot.rss_after / echo.rss_after if echo.rss_after else 0.0
    lines += [
        f"ratio bot/echo     {ratio:.3f} (RSS after {bot.users} users)",
        f"redis              {redis_keys} keys, {redis_bytes} bytes by MEMORY USAGE: "
        f"{redis_bytes / max(everyone, 1) * 1000 / 1024:.1f} KiB per 1,000 users; "
        f"used_memory {used_delta:+d} bytes over the run",
    ]
    lines += [
        f"  {kind}: {count} keys, {size} bytes ({size / max(count, 1):.0f} per key)"
        for kind, (count, size) in sorted(bot.redis_keys.items())
    ]
    lines += bot.traced
    lines += [
        summary("answer latency (bot)", bot.latencies, width=18),
        summary("answer latency (echo)", echo.latencies, width=18),
        f"answered           echo {len(echo.latencies)}/{echo.users}, "
        f"bot {len(bot.latencies)}/{bot.users}",
    ]
    return lines


async def run(
    users: int,
    *,
    warmup: int = 10,
    concurrency: int = 200,
    admin_url: str = ADMIN_URL,
    trace_top: int = 0,
) -> tuple[list[str], Phase, Phase]:
    """Both phases; returns the report lines and the two phases (failures inside)."""
    prefix = f"bench:memory:{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        workdir = Path(tmp)
        async with throwaway_database(admin_url, "bench_memory") as name:
            url = db_url(admin_url, name, driver="postgresql+asyncpg")
            await migrate(url)
            await stack.seed(db_url(admin_url, name), 0)
            echo = await echo_phase(users, warmup, concurrency, workdir)
            bot = await bot_phase(
                users, warmup, concurrency, url, prefix, workdir, trace_top=trace_top
            )
            if echo.failures or bot.failures:
                logs = "\n".join(p.read_text(errors="replace") for p in workdir.glob("*.log"))
                bot.failures.append(f"log tail:\n{logs[-2000:]}")
    return report(echo, bot, warmup, concurrency), echo, bot


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument(
        "--tracemalloc", type=int, default=0, metavar="TOP", help="trace the bot's allocations"
    )
    args = parser.parse_args(argv)
    lines, echo, bot = await run(
        args.users, warmup=args.warmup, concurrency=args.concurrency, trace_top=args.tracemalloc
    )
    print("\n".join(lines))
    failures = echo.failures + bot.failures
    if failures:
        print("FAILED:\n" + "\n".join(failures[:10]), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--traced-bot"]:
        traced_bot()
    else:
        sys.exit(asyncio.run(main()))
