"""Splitting a shortcut's arguments: `<client>` is one word (`#id`, Telegram id, `@username`,
a phone without spaces, a name) or a name in quotes ("Anna Petrova")."""

from __future__ import annotations

QUOTES = {'"': '"', "«": "»", "“": "”"}


def split_first(args: str | None) -> tuple[str, str] | None:
    """(`<client>`, the rest) or None when there is no client or an open quote."""
    text = (args or "").strip()
    if not text:
        return None
    closing = QUOTES.get(text[0])
    if closing is not None:
        end = text.find(closing, 1)
        if end < 0:
            return None
        head = text[1:end].strip()
        return (head, text[end + 1 :].strip()) if head else None
    head, _, rest = text.partition(" ")
    return head, rest.strip()


def split_word(text: str) -> tuple[str, str]:
    head, _, rest = text.strip().partition(" ")
    return head, rest.strip()
