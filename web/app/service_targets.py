"""The queue's service targets as configured (`JUNTA_TARGET_*_HOURS`), for the API and pages."""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache

from casebook.triage import ServiceTargets
from web.app.settings import Settings


@lru_cache(maxsize=4)
def service_targets(settings: Settings) -> ServiceTargets:
    """The configured targets: urgent 48 h, priority 7 days, routine 14 days by default.

    Settings never change in a running app: built (and checked) once, not on every queue load.
    """
    return ServiceTargets(
        urgent=timedelta(hours=settings.target_urgent_hours),
        priority=timedelta(hours=settings.target_priority_hours),
        routine=timedelta(hours=settings.target_routine_hours),
    )
