"""How long recordings are kept: the one rule the purge and the library's notice share.

Recordings are teaching material, not clinical records: after the retention period their files
are deleted (the row stays, marked deleted, for the audit trail). Clinical records (cases,
opinions, recommendations, audit) are never purged here.
"""

from __future__ import annotations

from datetime import datetime, timedelta

DEFAULT_RECORDING_RETENTION_DAYS = 365


def recording_cutoff(now: datetime, retention_days: int) -> datetime:
    """Recordings that ended before this instant have outlived the retention period."""
    if retention_days < 1:
        raise ValueError("the retention period is at least one day")
    return now - timedelta(days=retention_days)


def expires_at(ended_at: datetime, retention_days: int) -> datetime:
    """When a recording that ended at `ended_at` is deleted."""
    return ended_at + timedelta(days=retention_days)
