"""Router plumbing shared by the app and the feature packages."""

from __future__ import annotations

from aiogram import Router


def adopt(parent: Router, *subs: Router) -> Router:
    """Include `subs` in `parent`, taking each over from a previous parent.

    Routers are module-level singletons. Production builds one dispatcher per process, the tests
    build one per test, so a router may still hang under the last dispatcher: move it.
    """
    for sub in subs:
        previous = sub.parent_router
        if previous is not None:
            previous.sub_routers.remove(sub)
            sub._parent_router = None
        parent.include_router(sub)
    return parent
