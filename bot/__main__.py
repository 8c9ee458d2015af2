"""`python -m bot [run [--webhook] | worker | health [--ready] | demo [--fresh]
| catalog import|export FILE]`.

`run` (the default) serves the bot (long polling, or the webhook when WEBHOOK_URL is set;
`run --webhook` refuses to start without WEBHOOK_URL, for instances behind a proxy);
`worker` runs only the notification worker. Both first check the settings, PostgreSQL (reachable,
the database exists, migrated to head), Redis and Telegram (`bot.ops.startup`).
`health` asks the running bot's `GET /healthz` (alive), or with `--ready` its `GET /readyz`
(PostgreSQL, Redis and migrations; the container health check), and exits 0 if it answered 200.
It needs no BOT_TOKEN.
`demo` runs the whole product locally with no token: the Bot API emulator, the bot, the worker
and a web chat (`bot/demo`).
A bad setting or a problem only an operator can fix ends the process with one readable line and
exit code 2; a server that does not answer yet is waited for.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import urllib.error
import urllib.request
from collections.abc import Coroutine
from typing import Any

from bot.config import ConfigError, ProbeSettings, Settings, load_probe_settings, load_settings
from bot.ops.logs import configure_logging

log = logging.getLogger("bot")

# The exit code of a configuration error (`bot.ops.startup.EXIT_MISCONFIGURED`; that module imports
# aiogram, so the demo and catalog commands do not import it before they need it).
EXIT_MISCONFIGURED = 2
# `run --webhook` (an instance behind the proxy of compose's scale profile) without WEBHOOK_URL
# would quietly long-poll instead of serving the proxy.
WEBHOOK_REQUIRED = (
    "configuration error: WEBHOOK_URL is required by `run --webhook` (an instance behind the "
    "proxy takes updates from it, not by long polling): set WEBHOOK_URL in .env"
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Booking bot")
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("run", help="serve the bot (default)")
    run.add_argument(
        "--webhook",
        action="store_true",
        help="webhook mode or nothing: refuse to start when WEBHOOK_URL is unset",
    )
    sub.add_parser("worker", help="run only the notification worker")
    health = sub.add_parser("health", help="ask the running bot's GET /healthz; exit 0 if 200")
    health.add_argument(
        "--ready", action="store_true", help="ask GET /readyz (PostgreSQL, Redis, migrations)"
    )
    sub.add_parser("demo", help="the whole product with a web chat, no token needed (--fresh)")
    catalog = sub.add_parser("catalog", help="import or export the catalog and schedules")
    catalog.add_argument("catalog_args", nargs=argparse.REMAINDER)
    return parser


def _settings() -> Settings:
    settings = load_settings()
    secrets = [settings.bot_token.get_secret_value()]
    secrets += [
        s.get_secret_value()
        for s in (settings.webhook_secret, settings.payment_provider_token)
        if s
    ]
    configure_logging(settings.log_level, settings.log_format, secrets=secrets)
    return settings


def health_url(settings: Settings | ProbeSettings, path: str = "/healthz") -> str | None:
    """Where this configuration serves `path` (`/healthz`, `/readyz`, `/metrics`), seen from the
    same host (None: nowhere)."""
    port = settings.webhook_port if settings.webhook_enabled else settings.health_port
    if port is None:
        return None
    host = settings.webhook_host
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}{path}"


def check_health(
    settings: Settings | ProbeSettings, timeout: float = 5.0, *, ready: bool = False
) -> int:
    """One line on stdout or stderr; 0 if the bot answered 200 (`/readyz` if `ready`), else 1."""
    url = health_url(settings, "/readyz" if ready else "/healthz")
    if url is None:
        print("health: long polling without HEALTH_PORT serves no health check", file=sys.stderr)
        return 1
    # No proxy: the bot runs on this host, and an http_proxy variable must not reroute the check.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as response:
            print(f"healthy: {response.read().decode()}")
            return 0
    except urllib.error.HTTPError as exc:
        print(f"unhealthy: {exc.code} {exc.read().decode()}", file=sys.stderr)
    except OSError as exc:
        print(f"health: {url} unreachable: {exc}", file=sys.stderr)
    return 1


def run_loop(main: Coroutine[Any, Any, None]) -> None:
    """Run `main` to completion on uvloop (libuv), or on asyncio's own loop where uvloop is not
    installed (it has no Windows build). uvloop serves the same asyncio API with less CPU per
    socket read and write, and a bot is mostly socket reads and writes: PostgreSQL, Redis and
    the Bot API (docs/bench-stack.md)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - Windows
        asyncio.run(main)
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["catalog"]:
        # Everything after "catalog" (including --help) belongs to the catalog tool.
        from bot.catalog.cli import main as catalog_main

        return catalog_main(argv[1:])
    if argv[:1] == ["demo"]:
        # Needs no BOT_TOKEN: the demo is its own Telegram.
        from bot.demo.runner import main as demo_main

        return demo_main(argv[1:])
    args = _parser().parse_args(argv)
    command = args.command or "run"
    try:
        if command == "health":
            return check_health(load_probe_settings(), ready=args.ready)
        settings = _settings()
        if getattr(args, "webhook", False) and not settings.webhook_enabled:
            raise ConfigError(WEBHOOK_REQUIRED)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return EXIT_MISCONFIGURED
    from bot.ops import startup

    try:
        run_loop(_serve(settings, worker_only=command == "worker"))
    except startup.StartupError as exc:
        log.critical("%s", exc)
        return exc.exit_code
    except KeyboardInterrupt:
        pass
    return 0


async def _serve(settings: Settings, *, worker_only: bool) -> None:
    from bot.ops import startup

    await startup.preflight(settings)
    if worker_only:
        from bot.notify.runner import run_worker

        await run_worker(settings)
        return
    from bot.app import run

    await run(settings)


if __name__ == "__main__":
    sys.exit(main())
