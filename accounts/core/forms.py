"""Form helpers shared by every domain."""

from __future__ import annotations

from datetime import date, datetime, time

from django.utils import timezone


def aware_datetime(day: date, at: time = time.min) -> datetime:
    """A date picked in a form, at `at` (midnight by default) in the current time zone."""
    return timezone.make_aware(datetime.combine(day, at))
