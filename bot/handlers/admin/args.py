"""Splitting a shortcut's arguments: `<client>` is one word (`#id`, Telegram id, `@username`,
a phone without spaces, a name) or a phrase in quotes ("Anna Petrova", «Анна Петрова»)."""

from __future__ import annotations

from bot.domain.admin_input import QUOTES


def split_first(args: str | None) -> tuple[str, str] | None:
    """(`<client>`, the rest) or None when there is no client or an open quote."""
    text = (args or "").strip()
    if not text:
        return None
    closing = QUOTES.get(text[0])
    if closing is not None:
        end = min((i for i in (text.find(c, 1) for c in closing) if i > 0), default=-1)
        if end < 0:
            return None
        head = text[1:end].strip()
        return (head, text[end + 1 :].strip()) if head else None
    head, _, rest = text.partition(" ")
    return head, rest.strip()


def split_word(text: str) -> tuple[str, str]:
    head, _, rest = text.strip().partition(" ")
    return head, rest.strip()
