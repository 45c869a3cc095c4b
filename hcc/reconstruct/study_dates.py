"""The study's calendar: enrolment window, data cut-off, days after the first possible start.

Dates are ISO strings (``"2021-09-30"``); the search works in whole days after
``calibrate.ENROL_START``.
"""
from __future__ import annotations

import datetime as _dt


def _date(s: str) -> _dt.date:
    return _dt.date.fromisoformat(s)


def _window(cutoff: str) -> tuple[int, int]:
    """(longest possible follow-up, shortest follow-up of a patient not lost to
    follow-up) in days: the cut-off minus the first enrolment date, and the cut-off minus
    the last enrolment date minus the days an alive patient's last visit may lie before
    the cut-off (``calibrate.LAST_VISIT_GAP``)."""
    from hcc.reconstruct import calibrate as cal

    c = _date(cutoff)
    maxfu = (c - _date(cal.ENROL_START)).days
    minadmin = (c - _date(cal.ENROL_END)).days - cal.LAST_VISIT_GAP
    return maxfu, minadmin


def _cutoff_date(maxfu: int) -> str:
    from hcc.reconstruct import calibrate as cal

    return (_date(cal.ENROL_START) + _dt.timedelta(days=int(maxfu))).isoformat()
