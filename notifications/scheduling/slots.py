"""When a message may go out: the customer's zone, window, weekdays, quiet hours, urgency.

Pure functions over aware datetimes. Local times are turned into instants per local date with
zoneinfo, so a window means the same wall-clock hours on both sides of a DST change.
"""

import datetime
import zoneinfo
from collections.abc import Iterable

UTC = datetime.UTC
MAX_DAYS_AHEAD = 21


def parse_time(value: str | datetime.time) -> datetime.time:
    return value if isinstance(value, datetime.time) else datetime.time.fromisoformat(value)


def intersect(*windows: tuple[datetime.time, datetime.time] | None) -> tuple[datetime.time, datetime.time] | None:
    """The hours allowed by every window (None = the whole day); None if they do not overlap."""
    start, end = datetime.time(0, 0), None  # end None = midnight at the end of the day
    for window in windows:
        if window is None:
            continue
        w_start, w_end = parse_time(window[0]), parse_time(window[1])
        start = max(start, w_start)
        if w_end != datetime.time(0, 0):
            end = w_end if end is None else min(end, w_end)
    if end is not None and start >= end:
        return None
    return start, end


def _local_interval(day: datetime.date, zone: zoneinfo.ZoneInfo, start: datetime.time, end: datetime.time | None):
    """The UTC instants spanning ``start``–``end`` on ``day``, widest on DST days.

    The start takes the earlier reading of its wall time and the end the later one, so a
    fall-back day's repeated hour and a spring-forward gap are covered; instants inside the span
    that are not inside the wall-clock window are skipped by :func:`_first_inside`.
    """
    begin = datetime.datetime.combine(day, start, tzinfo=zone).astimezone(UTC)
    if end is None:
        finish = datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time(0, 0), tzinfo=zone)
    else:
        wall = datetime.datetime.combine(day, end, tzinfo=zone)
        return begin, max(wall.astimezone(UTC), wall.replace(fold=1).astimezone(UTC))
    return begin, finish.astimezone(UTC)


def _first_inside(candidate, finish, zone, window):
    """The first instant from ``candidate`` (in one-minute steps) whose local time is in the window."""
    step = datetime.timedelta(minutes=1)
    for _ in range(24 * 60):
        if candidate >= finish:
            return None
        if is_inside(candidate, zone=zone, window=window):
            return candidate
        candidate = (candidate + step).replace(second=0, microsecond=0)
    return None


def _open_intervals(earliest, zone, start, end, allowed_days):
    """(day, begin, finish) of every allowed local day from ``earliest`` on, clipped to it."""
    first_day = earliest.astimezone(zone).date()
    for offset in range(MAX_DAYS_AHEAD):
        day = first_day + datetime.timedelta(days=offset)
        if allowed_days is not None and day.weekday() not in allowed_days:
            continue
        begin, finish = _local_interval(day, zone, start, end)
        begin = _first_inside(max(begin, earliest), finish, zone, (start, end))
        if begin is not None:
            yield day, begin, finish


def next_slot(
    *,
    earliest: datetime.datetime,
    zone: zoneinfo.ZoneInfo,
    window: tuple[datetime.time, datetime.time | None] | None,
    deadline: datetime.datetime,
    weekdays: Iterable[int] | None = None,
    preferred_hour: int | None = None,
) -> datetime.datetime | None:
    """The first instant at or after ``earliest`` inside ``window`` (local hours) on an allowed
    weekday, not after ``deadline``; None when there is none.

    With ``preferred_hour`` (the learned best hour) the slot is that local hour on the first
    allowed day where it fits before the deadline; failing that, the first allowed instant.
    """
    if window is None:
        return None
    allowed_days = set(weekdays or ()) or None
    intervals = _open_intervals(earliest, zone, window[0], window[1], allowed_days)
    first = next(intervals, None)
    if first is None or first[1] > deadline:
        return None
    if preferred_hour is None:
        return first[1]
    for day, begin, finish in [first, *intervals]:
        preferred = datetime.datetime.combine(day, datetime.time(preferred_hour), tzinfo=zone).astimezone(UTC)
        if preferred > deadline or begin > deadline:
            break
        if begin <= preferred < finish and is_inside(preferred, zone=zone, window=window):
            return preferred
    return first[1]


def last_slot(
    *,
    earliest: datetime.datetime,
    zone: zoneinfo.ZoneInfo,
    window: tuple[datetime.time, datetime.time | None] | None,
    deadline: datetime.datetime,
) -> datetime.datetime | None:
    """The last whole minute at or before ``deadline`` (and not before ``earliest``) inside the
    local ``window``, any weekday; None when the window has no instant in between.

    Where a wish (a preferred weekday) cannot be met before the deadline, the message still goes,
    as late as the hard rules allow: waiting is respected as far as it can be, not turned into a drop.
    """
    if window is None or deadline < earliest:
        return None
    step = datetime.timedelta(minutes=1)
    last = None
    for _day, begin, finish in _open_intervals(earliest, zone, window[0], window[1], None):
        if begin > deadline:
            break
        candidate = min(finish - step, deadline).replace(second=0, microsecond=0)
        for _ in range(24 * 60):  # the wall clock's last minute inside the window (DST days have gaps)
            if candidate < begin:
                candidate = None
                break
            if is_inside(candidate, zone=zone, window=window):
                break
            candidate -= step
        if candidate is not None and candidate >= earliest:
            last = candidate
    return last


def is_inside(moment: datetime.datetime, *, zone: zoneinfo.ZoneInfo, window) -> bool:
    """Whether ``moment`` falls inside the local ``window`` (used to verify, never to schedule)."""
    if window is None:
        return False
    start, end = window
    local = moment.astimezone(zone).time()
    return local >= start and (end is None or local < end)
