"""The days a run computes, and the input days and reference instant that follow from them."""

from __future__ import annotations

import dataclasses
import datetime as dt


@dataclasses.dataclass(frozen=True)
class DateRange:
    """Snapshot days `[start, end]`, both inclusive. Accepts dates or ISO strings."""

    start: dt.date
    end: dt.date

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, dt.date.fromisoformat(value))
        if self.start > self.end:
            raise ValueError(f"start {self.start} is after end {self.end}")

    @classmethod
    def ending_on(cls, run_date: dt.date, *, lookback_days: int) -> DateRange:
        """The days a scheduled run recomputes: the run date and the late-arrival lookback before it."""
        return cls(run_date - dt.timedelta(days=lookback_days), run_date)

    @property
    def reference_instant(self) -> dt.datetime:
        """The snapshot instant of the last day: nothing at or before it is 'in the future'."""
        return dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)

    def first_input_day(self, window_days: int) -> dt.date:
        """The earliest event day the range needs: its first window, plus the day before it, whose
        window decides whether the first day is a quiet-window row."""
        return self.start - dt.timedelta(days=window_days)

    def days(self) -> int:
        return (self.end - self.start).days + 1
