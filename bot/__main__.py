"""`python -m bot [run | worker | catalog import FILE | catalog export FILE]`.

`run` (the default) serves the bot (long polling, or the webhook when WEBHOOK_URL is set).
A bad or missing setting ends the process with one readable line and a non-zero exit code.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

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
    catalog = sub.add_parser("catalog", help="import or export the catalog and schedules")
    catalog.add_argument("catalog_args", nargs=argparse.REMAINDER)
    return parser


def _settings() -> Settings:
    settings = load_settings()
    configure_logging(settings.log_level)
    return settings


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["catalog"]:
        # Everything after "catalog" (including --help) belongs to the catalog tool.
        from bot.catalog.cli import main as catalog_main

        return catalog_main(argv[1:])
    args = _parser().parse_args(argv)
    command = args.command or "run"
    settings = _settings()
    if command == "worker":
        from bot.notify.runner import run_worker

        asyncio.run(run_worker(settings))
        return 0
    from bot.app import run

    asyncio.run(run(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
