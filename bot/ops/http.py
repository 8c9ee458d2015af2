"""The operator's HTTP endpoints, served beside the webhook (webhook mode) or by a small server
of their own on `HEALTH_PORT` (long polling):

- `GET /healthz`: the process is alive and its event loop answers -> 200 `{"ok": true}`;
- `GET /readyz`: PostgreSQL answers and is migrated to head, Redis answers -> 200
  `{"ok": true, "database": true, "migrations": true, "redis": true}`, else 503 with the failed
  checks false (a load balancer or compose's health check stops sending work until it is 200);
- `GET /metrics`: Prometheus' text format (`bot.ops.metrics`).

Failed checks are not logged here (a probe every few seconds would flood the log); the body
says what failed, and the outage lines of the update handling say why.
"""

from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import web
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.ops import metrics
from bot.ops.startup import migration_heads


@dataclass(frozen=True, slots=True)
class Probed:
    """What the endpoints look at."""

    engine: AsyncEngine
    redis: Redis


PROBED_KEY = web.AppKey("probed", Probed)
_CHECK_ERRORS = (Exception,)  # any failure of a check means "not ready", never a 500


@functools.lru_cache(maxsize=1)
def _heads() -> frozenset[str]:
    return frozenset(migration_heads())


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def readyz(request: web.Request) -> web.Response:
    probed = request.app[PROBED_KEY]
    checks = {"database": False, "migrations": False, "redis": False}
    try:
        async with probed.engine.connect() as conn:
            rows = await conn.execute(text("SELECT version_num FROM alembic_version"))
            checks["database"] = True
            checks["migrations"] = frozenset(row[0] for row in rows) == _heads()
    except _CHECK_ERRORS:
        pass
    with contextlib.suppress(*_CHECK_ERRORS):
        checks["redis"] = bool(await probed.redis.ping())  # type: ignore[misc]
    ok = all(checks.values())
    return web.json_response({"ok": ok, **checks}, status=200 if ok else 503)


async def metrics_page(request: web.Request) -> web.Response:
    probed = request.app[PROBED_KEY]
    # PostgreSQL down: the outbox gauges keep their last values.
    with contextlib.suppress(*_CHECK_ERRORS):
        await metrics.refresh_outbox(probed.engine, now=datetime.now(UTC))
    return web.Response(body=metrics.render(), headers={"Content-Type": metrics.CONTENT_TYPE})


def add_routes(web_app: web.Application, probed: Probed) -> None:
    """Serve `/healthz`, `/readyz` and `/metrics` from `web_app`."""
    web_app[PROBED_KEY] = probed
    web_app.router.add_get("/healthz", healthz)
    web_app.router.add_get("/readyz", readyz)
    web_app.router.add_get("/metrics", metrics_page)
