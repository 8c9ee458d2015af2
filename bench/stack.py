"""The whole bot under load, next to a bare aiogram echo bot on the same emulator, in one run.

    python bench/stack.py [--clients 200] [--days 5] [--webhook]
                           [--profile FILE [--profile-blocking]]

1. A throw-away database, migrated with Alembic, gets two locations (8 specialists, 8
   workplaces each, open 08:00-22:00 every day), two services, and one funded client per
   simulated user.
2. Echo phase: a bare aiogram bot (`--echo-bot`, a process of its own, long polling,
   updates handled one at a time: the baseline every ratio in docs/bench-stack.md is measured
   against) answers every message with its text. Each client sends `STEPS` messages, each as
   soon as the previous one is answered.
3. Bot phase: `python -m bot` (the code of this tree; its own process, long polling over HTTP
   against a fresh emulator, a batch at a time: users at once, each user's updates in order,
   `bot.ops.batch_polling`; no notification worker, `THROTTLE_RATE_PER_SECOND` raised so a
   client acting at machine speed is not throttled) and every client books a distinct time
   over `--days` days through the real conversation: /book, location, service, specialist,
   date, time, Confirm, each step sent as soon as the previous screen is shown. With
   `--webhook` the bot serves a webhook instead, and the emulator delivers as Telegram does
   (one chat's updates in order, different chats at once).

Printed: updates/s and bookings/s, the bot process's CPU per update and per booking (from
/proc), step latency p50/p95/max, and per booking the SQL statements, pool checkouts and Redis
commands the bot process counted itself (its `/metrics`: `bot_sql_statements_total`,
`bot_db_checkouts_total`, `bot_redis_commands_total`), the echo baseline and the ratio.
Exits non-zero unless every client booked, with the money invariant intact.

Environment: `BENCH_DATABASE_ADMIN_URL` (default postgresql://postgres@127.0.0.1:5432/postgres),
`REDIS_URL` (default redis://127.0.0.1:6379/0).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import signal
import socket
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import asyncpg
from redis.asyncio import Redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    ADMIN_URL,
    REDIS_URL,
    check_bookings,
    db_url,
    discard_redis,
    migrate,
    seed_clients,
    seed_location,
    summary,
    throwaway_database,
)
from bot.emulator import DEFAULT_TOKEN, BotAPIEmulator  # noqa: E402
from bot.emulator.types import EmuMessage  # noqa: E402
from bot.emulator.users import SimUser  # noqa: E402
from bot.i18n import translate  # noqa: E402
from bot.keyboards.booking import DATES_PER_PAGE  # noqa: E402

LOCATIONS = ("Loc A", "Loc B")
SERVICES = ("Cut", "Color")
SPECIALISTS_PER_LOCATION = 8
OPEN_HOUR, CLOSE_HOUR = 8, 22  # local, every day
DURATION_MIN = 60
TZ = "Europe/Moscow"
PRICE = Decimal("1000.00")
FIRST_TG_ID = 600_000_000
# Updates one booking takes: /book, location, service, specialist, date, time, Confirm.
STEPS = 7
THROTTLE = 1000.0  # updates per second per user during the run (the default is 3)
STEP_TIMEOUT = 120.0
LANG = "en"

Step = Callable[
    [Callable[[], Awaitable[Any]], "str | Callable[[EmuMessage], bool]"], Awaitable[EmuMessage]
]


def t(key: str, **kw: object) -> str:
    return translate(key, LANG, **kw)


@dataclass
class Phase:
    """What one phase measured."""

    elapsed: float = 0.0
    updates: int = 0
    bookings: int = 0
    cpu: float = 0.0  # seconds of the bot process's CPU (user + system)
    driver_cpu: float = 0.0  # seconds of this process's CPU: the emulator and the clients
    latencies: list[float] = field(default_factory=list)
    counters: dict[str, float] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    api_calls: dict[str, int] = field(default_factory=dict)  # Bot API method -> calls

    @property
    def updates_per_second(self) -> float:
        return self.updates / self.elapsed if self.elapsed else 0.0


# --- data ---------------------------------------------------------------------------------------


async def seed(url: str, clients: int) -> None:
    """The catalog (see the module docstring) and `clients` funded clients (wallet = ledger)."""
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            services = [
                await conn.fetchval(
                    "INSERT INTO services (name, duration_min, break_min, price) "
                    "VALUES ($1, $2, 0, $3) RETURNING id",
                    name,
                    DURATION_MIN,
                    PRICE,
                )
                for name in SERVICES
            ]
            for n, name in enumerate(LOCATIONS):
                await seed_location(
                    conn,
                    name=name,
                    timezone=TZ,
                    services=services,
                    specialists=SPECIALISTS_PER_LOCATION,
                    hours=(OPEN_HOUR, CLOSE_HOUR),
                    specialist_prefix=f"Spec {'AB'[n]}",
                    first_specialist_tg=800_000_000 + 100 * n,
                )
            await seed_clients(conn, clients, first_tg_id=FIRST_TG_ID, balance=PRICE, language=LANG)
    finally:
        await conn.close()


@dataclass(frozen=True)
class Choice:
    """What client `index` books: a distinct (specialist, local start) for every client."""

    location: str
    service: str
    specialist: str
    day: date
    time: str


# The clients pick their date, from tomorrow on, from the date picker's first page (they do
# not turn pages); today takes its first place while it still has a bookable time.
MAX_DAYS = DATES_PER_PAGE - 1


def choice_of(index: int, days: int, first_day: date) -> Choice:
    n_loc = len(LOCATIONS)
    location = index % n_loc
    specialist = (index // n_loc) % SPECIALISTS_PER_LOCATION
    slot = index // (n_loc * SPECIALISTS_PER_LOCATION)
    day, hour = slot % days, OPEN_HOUR + slot // days
    if hour >= CLOSE_HOUR:
        raise SystemExit(f"too many clients for {days} days: raise --days")
    return Choice(
        location=LOCATIONS[location],
        service=SERVICES[slot % len(SERVICES)],
        specialist=f"Spec {'AB'[location]}{specialist + 1:02d}",
        day=first_day + timedelta(days=day),
        time=f"{hour:02d}:00",
    )


# --- processes ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU of process `pid` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


async def scrape(port: int) -> dict[str, float]:
    """The counters of the bot's `/metrics` this benchmark reads, summed over labels."""
    wanted = {
        "bot_updates_total",
        "bot_bookings_total",
        "bot_sql_statements_total",
        "bot_db_checkouts_total",
        "bot_redis_commands_total",
    }
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{port}/metrics") as resp,
    ):
        body = await resp.text()
    out = dict.fromkeys(wanted, 0.0)
    for line in body.splitlines():
        match = re.match(r"^(\w+)(?:\{[^}]*\})? ([0-9.e+-]+)$", line)
        if match and match.group(1) in wanted:
            out[match.group(1)] += float(match.group(2))
    return out


async def start_process(
    emulator: BotAPIEmulator,
    args: list[str],
    env: dict[str, str],
    workdir: Path,
    *,
    ready_call: str = "deleteWebhook",
) -> asyncio.subprocess.Process:
    """Start a bot process and return once it made `ready_call` (`deleteWebhook` before it
    polls, `setWebhook` in webhook mode)."""
    mark = emulator.last_seq
    log = (workdir / f"{args[-1].strip('-')}-{uuid.uuid4().hex[:6]}.log").open("wb")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, *args, cwd=workdir, env=env, stdout=log, stderr=log
    )
    log.close()
    waiting = asyncio.create_task(
        emulator.wait_for_call(ready_call, completed=True, after=mark, timeout=300)
    )
    exited = asyncio.create_task(proc.wait())
    done, _ = await asyncio.wait({waiting, exited}, return_when=asyncio.FIRST_COMPLETED)
    if exited in done:
        waiting.cancel()
        logs = "\n".join(p.read_text(errors="replace") for p in workdir.glob("*.log"))
        raise SystemExit(f"{args} exited with {proc.returncode}:\n{logs[-3000:]}")
    exited.cancel()
    waiting.result()
    return proc


def bot_env(
    emulator: BotAPIEmulator,
    url: str,
    redis_prefix: str,
    health_port: int,
    days: int,
    *,
    webhook: bool = False,
) -> dict[str, str]:
    """The environment of `python -m bot` for a run: the emulator as Telegram, database `url`
    (asyncpg driver), keys under `redis_prefix`, `/metrics` on `health_port` (with `webhook`,
    the webhook served on that port too), no notification worker, the throttle raised to
    `THROTTLE`, a booking horizon covering `days`."""
    env = {k: v for k, v in os.environ.items() if k not in {"WEBHOOK_URL"}}
    env.update(
        BOT_TOKEN=emulator.token,
        DATABASE_URL=url,
        REDIS_URL=REDIS_URL,
        REDIS_PREFIX=redis_prefix,
        TELEGRAM_API_URL=emulator.url,
        RUN_WORKER="false",
        THROTTLE_RATE_PER_SECOND=str(THROTTLE),
        THROTTLE_BURST="1000",
        SLOT_STEP_MIN=str(DURATION_MIN),
        BOOKING_HORIZON_DAYS=str(max(30, days + 2)),
        HEALTH_PORT=str(health_port),
        LOG_LEVEL="WARNING",
        # The bot code of this tree, not whatever the installed package points at: a copy of
        # the project at another commit (a before/after pair) runs its own bot.
        PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p),
    )
    if webhook:
        env.update(
            WEBHOOK_URL=f"http://127.0.0.1:{health_port}/telegram/webhook",
            WEBHOOK_HOST="127.0.0.1",
            WEBHOOK_PORT=str(health_port),
        )
    return env


async def stop_process(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 20)
        except TimeoutError:
            proc.kill()
            await proc.wait()


class Screens:
    """Per-chat waiting for the bot's messages and edits. `SimUser.wait_for_message` re-checks
    every waiting user on every change in the emulator, which at hundreds of users costs the
    benchmark more CPU than the bots it measures; here only the chat that changed is woken."""

    def __init__(self, emulator: BotAPIEmulator) -> None:
        self._emulator = emulator
        self._wakers: dict[int, asyncio.Event] = {}
        emulator.observers.append(self._changed)

    def _changed(self, kind: str, payload: Any) -> None:
        chat_id = getattr(payload, "chat_id", None)
        if chat_id in self._wakers:
            self._wakers[chat_id].set()

    def cursor(self, user: SimUser) -> int:
        return len(self._emulator.chat_events.get(user.chat_id, []))

    async def after(
        self, user: SimUser, cursor: int, expect: str | Callable[[EmuMessage], bool]
    ) -> EmuMessage:
        """The first bot message or edit in the user's chat after `cursor` matching `expect`
        (a substring of its text, or a predicate)."""
        check = (lambda m: expect in (m.text or "")) if isinstance(expect, str) else expect
        waker = self._wakers.setdefault(user.chat_id, asyncio.Event())
        async with asyncio.timeout(STEP_TIMEOUT):
            while True:
                waker.clear()
                events = self._emulator.chat_events.get(user.chat_id, [])
                for event in events[cursor:]:
                    if event.kind != "delete" and event.message.from_bot and check(event.message):
                        return event.message
                cursor = len(events)
                await waker.wait()


async def run_clients(
    emulator: BotAPIEmulator,
    clients: int,
    script: Callable[[int, SimUser, Step], Awaitable[None]],
    *,
    first: int = 0,
) -> Phase:
    """Run `script(index, user, step)` for every client at once (indexes `first` to `first +
    clients - 1`, client `index` being Telegram user `FIRST_TG_ID + index + 1`); `await
    step(action, expect)` runs one step (the action, then the screen `expect` in the user's
    chat) and records its latency."""
    phase = Phase()
    screens = Screens(emulator)

    def stepper(user: SimUser) -> Step:
        async def step(
            action: Callable[[], Awaitable[Any]], expect: str | Callable[[EmuMessage], bool]
        ) -> EmuMessage:
            began = time.perf_counter()
            cursor = screens.cursor(user)
            await action()
            shown = await screens.after(user, cursor, expect)
            phase.latencies.append(time.perf_counter() - began)
            phase.updates += 1
            return shown

        return step

    async def one(index: int) -> None:
        user = emulator.user(FIRST_TG_ID + index + 1, f"Client {index + 1}", language_code=LANG)
        try:
            await script(index, user, stepper(user))
        except (AssertionError, TimeoutError) as exc:
            events = emulator.chat_events.get(user.chat_id, [])[-3:]
            shown = " | ".join(
                f"{e.kind}: {(e.message.text or '')[:120]!r}" for e in events if e.message
            )
            phase.failures.append(f"client {index}: {str(exc)[:400]} last: {shown}")

    began, began_cpu = time.perf_counter(), cpu_seconds(os.getpid())
    await asyncio.gather(*(one(i) for i in range(first, first + clients)))
    phase.elapsed = time.perf_counter() - began
    phase.driver_cpu = cpu_seconds(os.getpid()) - began_cpu
    return phase


# --- the two phases -----------------------------------------------------------------------------


async def echo_phase(clients: int, workdir: Path) -> Phase:
    async with BotAPIEmulator(DEFAULT_TOKEN) as emulator:
        env = {**os.environ, "TELEGRAM_API_URL": emulator.url, "BOT_TOKEN": emulator.token}
        proc = await start_process(emulator, [str(Path(__file__)), "--echo-bot"], env, workdir)
        began_cpu = cpu_seconds(proc.pid)

        async def script(index: int, user: SimUser, step: Step) -> None:
            for n in range(STEPS):
                text = f"ping {index}.{n}"
                await step(partial(user.send, text), text)

        try:
            phase = await run_clients(emulator, clients, script)
            phase.cpu = cpu_seconds(proc.pid) - began_cpu
        finally:
            await stop_process(proc)
    return phase


async def bot_phase(
    clients: int,
    days: int,
    url: str,
    redis_prefix: str,
    workdir: Path,
    *,
    profile: str | None,
    webhook: bool = False,
    profile_blocking: bool = False,
) -> Phase:
    tz = ZoneInfo(TZ)
    first_day = datetime.now(UTC).astimezone(tz).date() + timedelta(days=1)
    port = free_port()
    async with BotAPIEmulator(DEFAULT_TOKEN) as emulator:
        env = bot_env(emulator, url, redis_prefix, port, days, webhook=webhook)
        proc = await start_process(
            emulator,
            ["-m", "bot"],
            env,
            workdir,
            ready_call="setWebhook" if webhook else "deleteWebhook",
        )
        spy = None
        if profile:
            spy = await asyncio.create_subprocess_exec(
                py_spy() or "py-spy", "record", "-p", str(proc.pid), "-o", profile,
                "-f", "raw" if profile.endswith(".txt") else "speedscope",
                *([] if profile_blocking else ["--nonblocking"]),
            )  # fmt: skip
        before = await scrape(port)
        began_cpu = cpu_seconds(proc.pid)
        first_call = emulator.last_seq

        async def script(index: int, user: SimUser, step: Step) -> None:
            choice = choice_of(index, days, first_day)
            confirm = t("booking.btn.confirm")
            await step(partial(user.send, "/book"), t("booking.ask.location"))
            await step(partial(user.press, choice.location), t("booking.ask.service"))
            await step(partial(user.press, choice.service), t("booking.ask.specialist"))
            await step(partial(user.press, choice.specialist), t("booking.ask.date"))
            await step(partial(user.press, f"{choice.day:%d.%m}"), "Choose a time")
            await step(
                partial(user.press, choice.time), lambda m: m.find_button(confirm) is not None
            )
            await step(partial(user.press, confirm), t("booking.done").split("\n", 1)[0])

        try:
            phase = await run_clients(emulator, clients, script)
            # The bot counts an update once its handler returns, just after the reply the
            # client saw: read the counters once they include every update sent.
            deadline = time.monotonic() + 10
            after = await scrape(port)
            while (
                after["bot_updates_total"] - before["bot_updates_total"] < phase.updates
                and time.monotonic() < deadline
            ):
                await asyncio.sleep(0.05)
                after = await scrape(port)
            phase.cpu = cpu_seconds(proc.pid) - began_cpu
            phase.counters = {k: after[k] - before[k] for k in after}
            phase.api_calls = dict(
                Counter(call.method for call in emulator.calls if call.seq > first_call)
            )
        finally:
            if spy is not None and spy.returncode is None:
                spy.send_signal(signal.SIGINT)
                await spy.wait()
            await stop_process(proc)
    booked, broken = await check_bookings(url.replace("postgresql+asyncpg://", "postgresql://"))
    phase.bookings = booked
    if broken:
        phase.failures.append(f"{broken} wallets off balance == sum(ledger)")
    return phase


# --- report -------------------------------------------------------------------------------------


def report(clients: int, days: int, echo: Phase, bot: Phase, *, webhook: bool = False) -> list[str]:
    per_booking = max(bot.bookings, 1)
    per_update = max(bot.updates, 1)
    counted = bot.counters
    ratio = bot.updates_per_second / echo.updates_per_second if echo.elapsed else 0.0
    echo_cpu = echo.cpu / max(echo.updates, 1)  # seconds per update
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return [
        f"clients            {clients}, each booking a distinct time over {days} days "
        f"({STEPS} updates per booking)",
        "bot mode           "
        + (
            "webhook (the emulator delivers as Telegram does: one chat's updates in order, "
            "chats at once)"
            if webhook
            else "long polling (a batch at a time: users at once, each user's updates in order; "
            "acknowledged once all of it is handled)"
        ),
        f"throttle           raised to {THROTTLE:g} updates/s per user for the run "
        "(THROTTLE_RATE_PER_SECOND), no notification worker",
        f"load average       {load} ({os.cpu_count()} CPUs) at the end",
        f"echo bot           {echo.updates} updates in {echo.elapsed:.2f} s: "
        f"{echo.updates_per_second:.1f} updates/s, "
        f"CPU {echo.cpu / max(echo.updates, 1) * 1000:.2f} ms per update",
        f"bot                {bot.updates} updates in {bot.elapsed:.2f} s: "
        f"{bot.updates_per_second:.1f} updates/s, {bot.bookings / bot.elapsed:.2f} bookings/s",
        f"ratio bot/echo     {ratio:.3f} (updates/s)",
        f"driver CPU         {bot.driver_cpu / bot.elapsed * 100:.0f}% of a core in the bot "
        f"phase, {echo.driver_cpu / max(echo.elapsed, 1e-9) * 100:.0f}% in the echo phase "
        "(this process: the emulator and the clients)",
        f"bot CPU            {bot.cpu / per_update * 1000:.2f} ms per update "
        f"({bot.cpu / per_update / max(echo_cpu, 1e-9):.1f} x the echo bot's, which tells hosts "
        f"apart), {bot.cpu / per_booking * 1000:.1f} ms per booking",
        summary("step latency (bot)", bot.latencies, width=18),
        summary("step latency (echo)", echo.latencies, width=18),
        f"per booking        {counted.get('bot_sql_statements_total', 0) / per_booking:.1f} "
        f"SQL statements, {counted.get('bot_db_checkouts_total', 0) / per_booking:.1f} pool "
        f"checkouts, {counted.get('bot_redis_commands_total', 0) / per_booking:.1f} Redis commands",
        f"per update         {counted.get('bot_redis_commands_total', 0) / per_update:.1f} "
        f"Redis commands (bot counted {counted.get('bot_updates_total', 0):.0f} updates, "
        f"{counted.get('bot_bookings_total', 0):.0f} bookings)",
        "Bot API calls      "
        + ", ".join(
            f"{method} {count / per_update:.2f}"
            for method, count in sorted(bot.api_calls.items(), key=lambda kv: -kv[1])
        )
        + " per update",
        f"booked             {bot.bookings}/{clients}",
    ]


async def run(
    clients: int,
    days: int,
    *,
    admin_url: str = ADMIN_URL,
    profile: str | None = None,
    webhook: bool = False,
    profile_blocking: bool = False,
) -> tuple[list[str], Phase, Phase]:
    """Both phases; returns the report lines and the two phases (failures inside)."""
    prefix = f"bench:stack:{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="bench-stack-") as tmp:
        workdir = Path(tmp)
        async with throwaway_database(admin_url, "bench_stack") as name:
            url = db_url(admin_url, name, driver="postgresql+asyncpg")
            await migrate(url)
            await seed(db_url(admin_url, name), clients)
            echo = await echo_phase(clients, workdir)
            try:
                bot = await bot_phase(
                    clients,
                    days,
                    url,
                    prefix,
                    workdir,
                    profile=profile,
                    webhook=webhook,
                    profile_blocking=profile_blocking,
                )
            finally:
                await discard_redis(Redis.from_url(REDIS_URL), prefix)
            if bot.failures:
                logs = "\n".join(p.read_text(errors="replace") for p in workdir.glob("*.log"))
                bot.failures.append(f"bot log tail:\n{logs[-12000:]}")
    lines = report(clients, days, echo, bot, webhook=webhook)
    if bot.bookings != clients:
        bot.failures.append(f"only {bot.bookings} of {clients} clients booked")
    return lines, echo, bot


# --- the echo bot process -----------------------------------------------------------------------


async def echo_bot() -> None:
    """A bare aiogram bot that answers each message with its text (the baseline)."""
    from aiogram import Bot, Dispatcher
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.types import Message

    session = AiohttpSession(api=TelegramAPIServer.from_base(os.environ["TELEGRAM_API_URL"]))
    bot = Bot(token=os.environ["BOT_TOKEN"], session=session)
    dp = Dispatcher()

    @dp.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "")

    await bot.delete_webhook()
    await dp.start_polling(bot, handle_as_tasks=False, handle_signals=True)


def py_spy() -> str | None:
    """The py-spy executable: on PATH, else beside this Python (a virtualenv not activated)."""
    beside = Path(sys.executable).parent / "py-spy"
    return shutil.which("py-spy") or (str(beside) if beside.is_file() else None)


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument(
        "--days", type=int, default=5, help=f"1-{MAX_DAYS}: the date picker's first page"
    )
    parser.add_argument(
        "--profile",
        help="write a py-spy profile of the bot here (speedscope; if it ends in .txt, stacks)",
    )
    parser.add_argument(
        "--profile-blocking",
        action="store_true",
        help="py-spy pauses the bot for each sample: whole stacks, but a slower bot",
    )
    parser.add_argument(
        "--webhook",
        action="store_true",
        help="serve the bot as a webhook (updates of different chats handled at once)",
    )
    parser.add_argument("--echo-bot", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not 1 <= args.days <= MAX_DAYS:
        parser.error(f"--days must be 1-{MAX_DAYS}: the dates from tomorrow on the picker's page")
    if args.profile and py_spy() is None:
        parser.error("--profile needs py-spy on PATH or beside this Python (pip install py-spy)")
    if args.echo_bot:
        await echo_bot()
        return 0
    lines, _, bot = await run(
        args.clients,
        args.days,
        profile=args.profile,
        webhook=args.webhook,
        profile_blocking=args.profile_blocking,
    )
    print("\n".join(lines))
    if bot.failures:
        # The first ten failures, then the summary ones (the bot's log tail, the count).
        shown = bot.failures[:10] + [f for f in bot.failures[10:] if not f.startswith("client ")]
        print("FAILED:\n" + "\n".join(shown), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
