"""How an activity tells a new effect from one an earlier attempt or run made.

Creates are idempotent by key (a freeze id, a review or page key): a retry, a replay after a worker
died, or a ``temporal workflow reset`` gets the record made before. Its ``created_at`` then predates
this attempt's clock, and the detail the audit keeps says so instead of claiming a new effect.
"""

from __future__ import annotations

from datetime import datetime


def found_in_place(created_at: datetime, now: datetime) -> str:
    """`` (found in place, made <time>)`` when the record predates ``now``, else ``""``."""
    if created_at >= now:
        return ""
    return f" (found in place, made {created_at.isoformat(timespec='seconds')})"
