"""Domain events on Redis pub/sub (docs/rules.md#redis).

Pub/sub is at-most-once: a subscriber that is down misses the message forever
(docs/rules.md#pitfalls-we-design-around). An event is therefore only a wake-up ("look again"),
never the truth: the PostgreSQL outbox and the versioned slot cache stay correct without it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

APPOINTMENT_CREATED: Final = "appointment.created"
APPOINTMENT_CANCELLED: Final = "appointment.cancelled"
APPOINTMENT_MOVED: Final = "appointment.moved"
HOLD_CHANGED: Final = "hold.changed"
CATALOG_CHANGED: Final = "catalog.changed"
SCHEDULE_CHANGED: Final = "schedule.changed"
OUTBOX_WAKE: Final = "outbox.wake"
SLOTS_INVALIDATED: Final = "slots.invalidated"

# An event to publish: its kind and data (`EventBus.publish`'s).
Event = tuple[str, Mapping[str, object]]

Handler = Callable[[str, dict[str, object]], Awaitable[None]]

# How long one wait for a message lasts; bounds how late `stop` is noticed.
_POLL_SECONDS = 0.5
# How long connecting and subscribing may take (and reconnecting, while waiting for a
# message): the bot's client gives its sockets no read timeout of their own
# (`bot.ops.redis.make_redis`), and a hung Redis never answers the connection's handshake.
_SUBSCRIBE_SECONDS = 5.0
_MAX_BACKOFF_SECONDS = 5.0


def _encode(value: object) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"cannot encode {type(value).__name__} in an event")


def event_message(kind: str, **data: object) -> str:
    """The JSON text `EventBus` publishes for an event (for a script that publishes it along
    with other commands); data values as `EventBus.publish` takes them."""
    return json.dumps({"kind": kind, "data": data}, default=_encode)


class EventBus:
    """Publish and listen on the channel `{prefix}:events`.

    `publish` is best effort: a Redis failure is logged and swallowed, because it runs after a
    commit and must never fail the use case that committed. `listen` reconnects by itself.
    """

    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self.channel = f"{prefix}:events"

    async def publish(self, kind: str, **data: object) -> None:
        """Send one event; data values may be str/int/float/bool/None/datetime/date/Decimal."""
        message = event_message(kind, **data)
        try:
            await self._redis.publish(self.channel, message)
        except (RedisError, OSError) as exc:
            log.warning("event %s not published: %s", kind, exc)

    async def listen(
        self,
        handler: Handler,
        *,
        stop: asyncio.Event,
        ready: asyncio.Event | None = None,
    ) -> None:
        """Call `handler(kind, data)` for every event until `stop` is set.

        `ready` is set once the subscription is active (so a caller can publish without
        racing the subscribe). A failing handler is logged and does not end the loop; a lost
        connection is retried with backoff (events published meanwhile are lost, by design).
        """
        backoff = 0.1
        while not stop.is_set():
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                async with asyncio.timeout(_SUBSCRIBE_SECONDS):
                    await pubsub.subscribe(self.channel)
                if ready is not None:
                    ready.set()
                backoff = 0.1
                while not stop.is_set():
                    # A dropped connection is opened again inside get_message, and a hung
                    # Redis never answers that handshake either.
                    async with asyncio.timeout(_POLL_SECONDS + _SUBSCRIBE_SECONDS):
                        message = await pubsub.get_message(timeout=_POLL_SECONDS)
                    if message is None or message.get("type") != "message":
                        continue
                    await self._dispatch(handler, message["data"])
            except (RedisError, OSError) as exc:  # TimeoutError is an OSError
                log.warning(
                    "event listener lost Redis (%s); retrying in %.1fs",
                    str(exc) or type(exc).__name__,
                    backoff,
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF_SECONDS)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py: untyped

    @staticmethod
    async def _dispatch(handler: Handler, raw: bytes | str) -> None:
        try:
            payload = json.loads(raw)
            kind = str(payload["kind"])
            data = dict(payload.get("data") or {})
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring a malformed event: %r", raw)
            return
        try:
            await handler(kind, data)
        except Exception:  # a subscriber's bug must not stop every other subscriber
            log.exception("event handler failed for %s", kind)
