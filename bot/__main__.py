"""`python -m bot [run | worker | health | catalog import FILE | catalog export FILE]`.

`run` (the default) serves the bot (long polling, or the webhook when WEBHOOK_URL is set).
`health` asks the running bot's `GET /healthz` (the container health check) and exits 0 if it
answered 200.
A bad or missing setting ends the process with one readable line and a non-zero exit code.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import urllib.error
import urllib.request

from bot.config import Settings, load_settings


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # aiogram logs every handled update at INFO; keep that for DEBUG runs.
    if logging.getLogger().level > logging.DEBUG:
        logging.getLogger("aiogram.event").setLevel(logging.WARNING)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Booking bot")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="serve the bot (default)")
    sub.add_parser("worker", help="run only the notification worker")
    sub.add_parser("health", help="ask the running bot's GET /healthz; exit 0 if healthy")
    catalog = sub.add_parser("catalog", help="import or export the catalog and schedules")
    catalog.add_argument("catalog_args", nargs=argparse.REMAINDER)
    return parser


def _settings() -> Settings:
    settings = load_settings()
    configure_logging(settings.log_level)
    return settings


def health_url(settings: Settings) -> str | None:
    """Where this configuration serves `GET /healthz`, seen from the same host (None: nowhere)."""
    port = settings.webhook_port if settings.webhook_enabled else settings.health_port
    if port is None:
        return None
    host = settings.webhook_host
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}/healthz"


def check_health(settings: Settings, timeout: float = 5.0) -> int:
    """One line on stdout or stderr; 0 if the bot answered 200, else 1."""
    url = health_url(settings)
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


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["catalog"]:
        # Everything after "catalog" (including --help) belongs to the catalog tool.
        from bot.catalog.cli import main as catalog_main

        return catalog_main(argv[1:])
    args = _parser().parse_args(argv)
    command = args.command or "run"
    settings = _settings()
    if command == "health":
        return check_health(settings)
    if command == "worker":
        from bot.notify.runner import run_worker

        asyncio.run(run_worker(settings))
        return 0
    from bot.app import run

    asyncio.run(run(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
