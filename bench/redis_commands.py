"""Counting the Redis commands a bot sends, per update (the tests' budget and the benches).

`CommandLog.attach(redis)` wraps one client instance (the bot's: every service, the FSM storage
and the middlewares share it): each command, each command of a pipeline and each script call
(`EVALSHA`, one command) is recorded with the `update_id` of the update being handled
(`bot.ops.logs.current_update`, set by the observe middleware) or None outside an update.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from redis.asyncio import Redis

from bot.ops.logs import current_update


class CommandLog:
    """Commands seen, as (update_id or None, command name, first argument: the script's SHA of an
    EVALSHA, else the key) in the order they were sent."""

    def __init__(self) -> None:
        self.entries: list[tuple[int | None, str, str]] = []

    def record(self, args: tuple[Any, ...]) -> None:
        update = current_update.get()
        name, first = (_text(a) for a in (*args[:2], "")[:2])
        update_id = update.update_id if update is not None else None
        self.entries.append((update_id, name.upper(), first))

    @contextmanager
    def attach(self, redis: Redis) -> Iterator[CommandLog]:
        """Record every command `redis` sends while the block runs."""
        execute = redis.execute_command
        make_pipeline = redis.pipeline

        async def counted(*args: Any, **options: Any) -> Any:
            self.record(args)
            return await execute(*args, **options)

        def pipeline(*args: Any, **kwargs: Any) -> Any:
            pipe = make_pipeline(*args, **kwargs)
            run = pipe.execute

            async def execute_pipeline(*a: Any, **kw: Any) -> Any:
                for command in pipe.command_stack:
                    self.record(command[0])
                return await run(*a, **kw)

            pipe.execute = execute_pipeline  # type: ignore[method-assign]
            return pipe

        redis.execute_command = counted  # type: ignore[method-assign]
        redis.pipeline = pipeline  # type: ignore[method-assign]
        try:
            yield self
        finally:
            del redis.execute_command
            del redis.pipeline

    def per_update(self, only: set[str] | None = None) -> dict[int, list[str]]:
        """Command names of each update handled, by update_id; with `only`, just the scripts
        whose SHA or the keys whose prefix is in it."""
        out: dict[int, list[str]] = defaultdict(list)
        for update_id, name, first in self.entries:
            if update_id is None:
                continue
            if only is None or any(first.startswith(item) for item in only):
                out[update_id].append(name)
            else:
                out.setdefault(update_id, [])
        return dict(out)

    def summary(self, only: set[str] | None = None) -> str:
        """One line per update: its id, command count and the commands by name."""
        lines = []
        for update_id, names in sorted(self.per_update(only).items()):
            counts = ", ".join(f"{n} x{c}" for n, c in Counter(names).items())
            lines.append(f"update {update_id}: {len(names)} ({counts})")
        return "\n".join(lines)


def _text(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)
