"""Several bot instances behind nginx, as `docker compose --profile scale` runs them, on this
machine: the Bot API emulator posts updates to nginx (Debian's package, run in the foreground
from a temporary directory with the repository's `deploy/nginx.conf`, its upstreams and port
rewritten), which balances them over `python -m bot` webhook processes; separate
`python -m bot worker` processes send the notifications. Everything shares one PostgreSQL
database and one Redis prefix. Used by `tests/e2e/test_scale_out.py` and `bench/scale.py`.

Clients book through the real conversation (/book, any specialist, a date, a time, Confirm),
pressing the buttons' callback data; a client that loses a race takes the first time offered
instead, until booked.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import re
import shutil
import signal
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.emulator import BotAPIEmulator
from bot.emulator.methods import update_chat_id
from bot.emulator.server import EmuMessage
from bot.emulator.users import SimUser
from bot.keyboards.booking import BookAction, BookCb, BookStep
from db.models import Appointment, Outbox
from tests.integration.factories import TZ, Catalog, make_catalog, make_client
from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
NGINX_TEMPLATE = ROOT / "deploy" / "nginx.conf"
SECRET = "scale-out-webhook-secret"
PRICE = Decimal("1000.00")
# Four Python processes start at once (imports, start-up checks): slow on a busy machine.
START_TIMEOUT = 300


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None
    )


def nginx_conf(template: str, *, listen: int, upstreams: list[int], workdir: Path) -> str:
    """`deploy/nginx.conf` for this machine: the proxy on 127.0.0.1:`listen`, the instances on
    127.0.0.1:`upstreams`, its pid, logs and temporary files in `workdir`, in the foreground."""
    lines: list[str] = []
    instances_written = False
    for line in template.splitlines():
        if line.rstrip().endswith("# instance"):
            if not instances_written:
                indent = line[: len(line) - len(line.lstrip())]
                lines += [
                    f"{indent}server 127.0.0.1:{port} max_fails=1 fail_timeout=5s;"
                    for port in upstreams
                ]
                instances_written = True
            continue
        if line.rstrip().endswith("# proxy"):
            indent = line[: len(line) - len(line.lstrip())]
            lines.append(f"{indent}listen 127.0.0.1:{listen};")
            continue
        lines.append(line)
        if line.startswith("worker_processes"):
            lines += [
                "daemon off;",
                f"pid {workdir}/nginx.pid;",
                f"error_log {workdir}/error.log warn;",
            ]
            if os.geteuid() == 0:
                lines.append("user root;")
        if line.startswith("http {"):
            lines += [
                f"    {kind}_temp_path {workdir}/{kind};"
                for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
            ]
    return "\n".join(lines) + "\n"


@contextlib.asynccontextmanager
async def run_nginx(upstreams: list[int], workdir: Path) -> AsyncIterator[int]:
    """nginx in front of `upstreams`; yields its port. Stopped (SIGQUIT, then SIGKILL) on exit."""
    binary = nginx_binary()
    assert binary, "nginx is not installed (apt-get install nginx; .ci/run installs it)"
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    conf = workdir / "nginx.conf"
    conf.write_text(
        nginx_conf(NGINX_TEMPLATE.read_text(), listen=port, upstreams=upstreams, workdir=workdir)
    )
    proc = await asyncio.create_subprocess_exec(
        binary, "-p", str(workdir), "-e", str(workdir / "error.log"), "-c", str(conf),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        await _until_listening(port, proc)
        yield port
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGQUIT)
            try:
                await asyncio.wait_for(proc.wait(), 20)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def _until_listening(port: int, proc: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:  # polling a port to open: nginx gives no other signal
        if proc.returncode is not None:
            raise RuntimeError(f"nginx exited with {proc.returncode}")
        with contextlib.suppress(OSError):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        if time.monotonic() > deadline:
            raise TimeoutError("nginx did not start")
        await asyncio.sleep(0.05)


@dataclass
class Process:
    name: str
    proc: asyncio.subprocess.Process
    log: Path

    def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()


@dataclass
class Cluster:
    """The running processes; `instances` serve the webhook, `workers` send notifications."""

    emulator: BotAPIEmulator
    instances: list[Process] = field(default_factory=list)
    workers: list[Process] = field(default_factory=list)
    nginx_port: int = 0

    def logs(self) -> str:
        return "\n".join(
            p.log.read_text(errors="replace") for p in [*self.instances, *self.workers]
        )

    def diagnostics(self, lines: int = 40) -> str:
        """What a failed run leaves to read: the deliveries that were not answered 200, and the
        last `lines` lines of every process's log."""
        failed = [d for d in self.emulator.webhook_deliveries if d["status"] != 200]
        task = self.emulator._webhook_task
        pending = [(u["update_id"], update_chat_id(u)) for u in self.emulator.pending_updates()]
        parts = [
            f"webhook deliveries not answered 200: {failed!r}",
            f"pending updates (id, chat): {pending!r}; delivery task: {task!r}",
        ]
        for p in [*self.instances, *self.workers]:
            tail = p.log.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"---- {p.name} (exit {p.proc.returncode}) ----\n" + "\n".join(tail))
        return "\n".join(parts)


def cluster_env(
    emulator: BotAPIEmulator, database_url: str, redis_url: str, prefix: str, **extra: str
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"WEBHOOK_URL", "BOT_TOKEN"}}
    env.update(
        BOT_TOKEN=emulator.token,
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        REDIS_PREFIX=prefix,
        TELEGRAM_API_URL=emulator.url,
        LOG_LEVEL="INFO",
        LOG_FORMAT="json",
        RUN_WORKER="false",
        SLOT_STEP_MIN="60",
        THROTTLE_RATE_PER_SECOND="1000",
        WEBHOOK_SECRET=SECRET,
        **extra,
    )
    return env


async def spawn(name: str, args: list[str], env: dict[str, str], workdir: Path) -> Process:
    """`python -m bot *args` with `env`, its output in `workdir/<name>.log`."""
    log = workdir / f"{name}.log"
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", *args, cwd=ROOT, env=env, stdout=out, stderr=out
        )
    return Process(name, proc, log)


async def stop_all(processes: list[Process]) -> None:
    """SIGTERM to every process still running; SIGKILL to one not gone within 30 s."""
    for process in processes:
        if process.proc.returncode is None:
            process.proc.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            await asyncio.wait_for(process.proc.wait(), 30)
        except TimeoutError:
            process.kill()
            await process.proc.wait()


@contextlib.asynccontextmanager
async def run_cluster(
    emulator: BotAPIEmulator,
    *,
    database_url: str,
    redis_url: str,
    prefix: str,
    instances: int,
    workers: int,
    workdir: Path,
) -> AsyncIterator[Cluster]:
    """nginx, `instances` webhook processes and `workers` worker processes; yields once every
    instance has registered the webhook (nginx's URL). Everything is killed on exit."""
    workdir.mkdir(parents=True, exist_ok=True)
    ports = [free_port() for _ in range(instances)]
    cluster = Cluster(emulator)
    async with run_nginx(ports, workdir / "nginx") as nginx_port:
        cluster.nginx_port = nginx_port
        base = cluster_env(emulator, database_url, redis_url, prefix)
        mark = emulator.last_seq
        try:
            for i, port in enumerate(ports):
                env = {
                    **base,
                    "WEBHOOK_URL": f"http://127.0.0.1:{nginx_port}/telegram/webhook",
                    "WEBHOOK_HOST": "127.0.0.1",
                    "WEBHOOK_PORT": str(port),
                }
                cluster.instances.append(await spawn(f"bot-{i + 1}", ["run"], env, workdir))
            for i in range(workers):
                cluster.workers.append(await spawn(f"worker-{i + 1}", ["worker"], base, workdir))

            def registered() -> bool:
                calls = emulator.calls_to("setWebhook")
                return sum(c.seq > mark and c.completed for c in calls) >= instances

            await emulator.wait_for(registered, timeout=START_TIMEOUT)
            try:
                yield cluster
            except BaseException:
                print(cluster.diagnostics())  # shown by pytest with the failure
                raise
        finally:
            await stop_all([*cluster.instances, *cluster.workers])


# ---- the clients ----------------------------------------------------------------------------


@dataclass
class World:
    catalog: Catalog
    day: dt.date
    hours: list[int]
    clients: dict[int, int]  # tg id -> client id

    def start(self, hour: int) -> int:
        local = dt.datetime.combine(self.day, dt.time(hour), tzinfo=ZoneInfo(TZ))
        return int(local.timestamp())


async def make_world(
    sessions: async_sessionmaker[AsyncSession], *, clients: int, specialists: int
) -> World:
    """One location and service, `specialists` specialists with as many workplaces, open for
    exactly `clients / specialists` hours a day (every start taken when everyone is booked),
    and `clients` funded clients (one top-up each)."""
    hours = -(-clients // specialists)
    assert hours <= 22, "more clients than one day can take"
    opens = 1 if hours > 14 else 8
    catalog = await make_catalog(
        sessions,
        specialists=specialists,
        workplaces=specialists,
        price=PRICE,
        duration_min=60,
        opens=dt.time(opens, 0),
        closes=dt.time(opens + hours, 0),
    )
    ids = {}
    for i in range(clients):
        tg = 610_000_000 + i
        ids[tg] = await make_client(sessions, balance=PRICE, tg_id=tg)
    day = dt.datetime.now(ZoneInfo(TZ)).date() + dt.timedelta(days=2)
    return World(catalog, day, list(range(opens, opens + hours)), ids)


def _buttons(message: EmuMessage) -> list[BookCb]:
    found = []
    for row in message.buttons:
        for button in row:
            data = button.get("callback_data", "")
            if data.startswith("bk:"):
                found.append(BookCb.unpack(data))
    return found


def _at(step: BookStep) -> object:
    return lambda m: any(b.step is step and b.action is BookAction.PICK for b in _buttons(m))


def _booked(message: EmuMessage) -> bool:
    return any(
        b.get("callback_data", "").startswith("appt:cancel:")
        for row in message.buttons
        for b in row
    )


@dataclass
class Outcome:
    tg_id: int
    tries: int = 0  # times pressed
    flows: int = 0  # /book sent (one more each time no time was free)


async def book(user: SimUser, world: World, hour: int, *, timeout: float = 300) -> Outcome:  # noqa: ASYNC109
    """/book, any specialist, the world's day, `hour`, Confirm; after a lost race the first
    time offered, until booked. When a lost race leaves no time free for now (the day has
    exactly as many starts as clients, and the rest are held by clients about to confirm),
    the client starts over with /book, as a person would, until a time is free again."""
    outcome = Outcome(user.id)
    prefer: int | None = world.start(hour)
    for _ in range(500):
        if await _book_once(user, world, prefer, outcome, timeout):
            return outcome
        prefer = None
    raise AssertionError(f"user {user.id}: no time came free")


async def _book_once(
    user: SimUser,
    world: World,
    prefer: int | None,
    outcome: Outcome,
    timeout: float,  # noqa: ASYNC109
) -> bool:
    """One flow from /book, trying `prefer` first if offered: True once booked, False when
    no time was free (to start over)."""
    outcome.flows += 1
    await user.send("/book")
    screen = await user.wait_for_message(
        lambda m: _at(BookStep.SPECIALIST)(m) or _at(BookStep.DATE)(m), timeout=timeout
    )
    flow = _buttons(screen)[0].flow
    if _at(BookStep.SPECIALIST)(screen):
        await user.press_data(BookCb(flow=flow, step=BookStep.SPECIALIST,
                                     action=BookAction.PICK, value=0).pack())  # fmt: skip
        screen = await user.wait_for_message(_at(BookStep.DATE), timeout=timeout)
    day = world.day.toordinal()
    if not any(b.step is BookStep.DATE and b.value == day for b in _buttons(screen)):
        return False  # the day is full for now
    await user.press_data(BookCb(flow=flow, step=BookStep.DATE, action=BookAction.PICK,
                                 value=day).pack())  # fmt: skip
    screen = await user.wait_for_message(_times_step, timeout=timeout)
    offered = [b.value for b in _offered_times(screen)]
    start = prefer if prefer in offered else (offered[0] if offered else None)
    while start is not None:
        outcome.tries += 1
        assert outcome.tries <= 50, f"user {user.id} never booked"
        await user.press_data(BookCb(flow=flow, step=BookStep.TIME, action=BookAction.PICK,
                                     value=start).pack())  # fmt: skip
        screen = await user.wait_for_message(
            lambda m: _times_step(m) or _confirm(m), timeout=timeout
        )
        if _confirm(screen):
            await user.press_data(BookCb(flow=flow, step=BookStep.SUMMARY,
                                         action=BookAction.CONFIRM).pack())  # fmt: skip
            screen = await user.wait_for_message(
                lambda m: _booked(m) or _times_step(m), timeout=timeout
            )
            if _booked(screen):
                return True
        # Lost the race: the screen offers the times still free; take the first.
        offered = [b.value for b in _offered_times(screen)]
        start = offered[0] if offered else None
    return False


def _offered_times(message: EmuMessage) -> list[BookCb]:
    return [b for b in _buttons(message) if b.step is BookStep.TIME and b.action is BookAction.PICK]


def _times_step(message: EmuMessage) -> bool:
    """The time step: times to pick, or none left for now (the waitlist offer)."""
    return any(
        b.step is BookStep.TIME and b.action in (BookAction.PICK, BookAction.JOIN_WAITLIST)
        for b in _buttons(message)
    )


def _confirm(message: EmuMessage) -> bool:
    return any(b.action is BookAction.CONFIRM for b in _buttons(message))


def target_hour(index: int, world: World, *, rivals_every: int = 5) -> int:
    """Client `index`'s first choice: spread over the day, except that every `rivals_every`-th
    client races for the first hour instead (and, losing, takes a time still free)."""
    if rivals_every and index % rivals_every == rivals_every - 1:
        return world.hours[0]
    return world.hours[index % len(world.hours)]


# ---- what is checked after a run --------------------------------------------------------------


async def appointments_per_client(sessions: async_sessionmaker[AsyncSession]) -> Counter[int]:
    async with sessions() as s:
        rows = await s.execute(
            select(Appointment.client_id, func.count())
            .where(Appointment.status == "booked")
            .group_by(Appointment.client_id)
        )
        return Counter({client: count for client, count in rows.all()})


async def money_broken(sessions: async_sessionmaker[AsyncSession]) -> list[int]:
    async with sessions() as s:
        rows = await s.execute(
            text(
                "SELECT w.client_id FROM client_wallets w LEFT JOIN wallet_transactions t "
                "ON t.client_id = w.client_id GROUP BY w.client_id, w.balance "
                "HAVING w.balance < 0 OR w.balance <> coalesce(sum(t.amount), 0)"
            )
        )
        return [r[0] for r in rows.all()]


async def due_unsent(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as s:
        count = await s.scalar(
            select(func.count())
            .select_from(Outbox)
            .where(Outbox.status == "pending", Outbox.due_at <= func.now())
        )
        return int(count or 0)


async def sent_rows(sessions: async_sessionmaker[AsyncSession]) -> Counter[int]:
    """Outbox rows delivered per chat (a confirmation settled because its card was already on
    the client's screen is marked sent but never went out)."""
    async with sessions() as s:
        rows = await s.execute(
            select(Outbox.chat_id, func.count())
            .where(Outbox.status == "sent")
            .where(Outbox.last_error.is_distinct_from("shown on screen"))
            .group_by(Outbox.chat_id)
        )
        return Counter({chat: count for chat, count in rows.all()})


UPDATE_LINE = re.compile(r"^update \S+ (\S+) by (\S+) in")


def handled_updates(logs: str, *, skipped: bool = False) -> Counter[int]:
    """How many times each update id was handled (a handler ran to its end, `ok`), from the
    instances' JSON logs; skipped duplicates (handler `none`) do not count. With `skipped`,
    the duplicates the dedupe skipped are counted instead."""
    handled: Counter[int] = Counter()
    for line in logs.splitlines():
        if not line.startswith("{"):
            continue
        with contextlib.suppress(ValueError):
            record = json.loads(line)
            match = UPDATE_LINE.match(str(record.get("message", "")))
            if match and match.group(1) == "ok" and (match.group(2) == "none") is skipped:
                handled[int(record["update_id"])] += 1
    return handled


async def until(condition: Callable[[], Awaitable[bool]], timeout: float = 120) -> None:  # noqa: ASYNC109
    """Poll `condition` (a database state no event announces) until true."""
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached")
        await asyncio.sleep(0.2)


def unique_prefix() -> str:
    return f"scale:{uuid.uuid4().hex[:10]}"
