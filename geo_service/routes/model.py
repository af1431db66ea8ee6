"""The vocabulary of a day plan: visits, the shift, stops and legs, priority classes, validation.

Times are minutes since midnight at the API, seconds inside the solvers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from geo_service.errors import InputError

TravelMode = Literal["walk", "drive", "drive_walk"]
TRAVEL_MODES: tuple[str, ...] = ("walk", "drive", "drive_walk")
MAX_VISITS = 500
PRIORITY_CLASSES = {1: "domestic-violence follow-up", 2: "preventive register", 3: "appeal",
                    4: "patrol point"}
#: A priority class by number, and by the name the HTTP API also accepts.
PriorityClass = Literal[1, 2, 3, 4]
PriorityName = Literal["domestic_violence", "preventive_register", "appeal", "patrol"]
#: The priority class of each name the HTTP API accepts (the numbers of `PRIORITY_CLASSES`).
PRIORITY_NAMES: dict[PriorityName, PriorityClass] = {"domestic_violence": 1, "preventive_register": 2, "appeal": 3,
                                                     "patrol": 4}
#: The priority class of preventive-register visits (see `PRIORITY_CLASSES`).
PREVENTIVE_REGISTER = PRIORITY_NAMES["preventive_register"]
#: The priority class of a citizen's appeal.
APPEAL = PRIORITY_NAMES["appeal"]
#: What a stop of a day plan is.
StopKind = Literal["start", "visit", "break", "reception", "end"]
#: The evening reception at the post, ``(start_min, end_min)``: 17:00-20:00.
RECEPTION = (17 * 60, 20 * 60)


def minutes_of(text: str) -> int:
    """Minutes since midnight of an ``HH:MM`` text."""
    h, m = text.split(":")
    return int(h) * 60 + int(m)


# -- input ---------------------------------------------------------------------------------

@dataclass
class Visit:
    """One place to visit.

    Parameters
    ----------
    id
        The caller's identifier (unique within a plan).
    lat, lon
        Location (WGS 84).
    service_min
        Minutes on site.
    priority
        Class 1-4, lower is more important (see `PRIORITY_CLASSES`).
    time_windows
        ``(start_min, end_min)`` pairs in minutes since midnight within which the visit
        must *start*; empty means any time in the shift.
    label
        The caller's free text, shown on the route sheet; never logged.
    address
        The address the visit was given by (shown to the inspector at the door); never logged.
    """

    id: str
    lat: float
    lon: float
    service_min: float = 15.0
    priority: int = 3
    time_windows: list[tuple[int, int]] = field(default_factory=list)
    label: str = ""
    address: str = ""


@dataclass
class Shift:
    """The working day: start and end, fixed breaks and an optional reception at the post."""

    start_min: int = 9 * 60
    end_min: int = 18 * 60
    breaks: list[tuple[int, int]] = field(default_factory=list)
    reception: tuple[int, int] | None = None

    def working_min(self) -> float:
        """Minutes available for visits and travel (shift minus breaks and reception)."""
        busy = sum(e - s for s, e in self.breaks)
        if self.reception:
            busy += max(0, min(self.reception[1], self.end_min) - self.reception[0])
        return self.end_min - self.start_min - busy

# -- output --------------------------------------------------------------------------------

def hhmm(minutes: float) -> str:
    """``HH:MM`` of minutes since midnight (past midnight shows as 24:10 and so on)."""
    m = int(round(minutes))
    return f"{m // 60:02d}:{m % 60:02d}"


@dataclass
class Stop:
    """A stop in visiting order. Times are minutes since midnight."""

    kind: StopKind
    lat: float
    lon: float
    arrival_min: float
    start_min: float
    departure_min: float
    slack_min: float
    visit_id: str | None = None
    label: str = ""
    priority: int | None = None
    time_windows: list[tuple[int, int]] = field(default_factory=list)
    snap_m: float = 0.0
    address: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "visit_id": self.visit_id, "label": self.label, "priority": self.priority,
            "address": self.address,
            "lat": round(self.lat, 7), "lon": round(self.lon, 7),
            "arrival_min": round(self.arrival_min, 1), "start_min": round(self.start_min, 1),
            "departure_min": round(self.departure_min, 1), "slack_min": round(self.slack_min, 1),
            "arrival": hhmm(self.arrival_min), "start": hhmm(self.start_min),
            "departure": hhmm(self.departure_min), "slack": hhmm(self.slack_min),
            "time_windows": [[hhmm(s), hhmm(e)] for s, e in self.time_windows],
            "snap_m": round(self.snap_m, 1),
        }


@dataclass
class Segment:
    """A piece of a leg in one mode (a leg has one segment unless it is drive-then-walk)."""

    mode: str
    time_s: float
    length_m: float
    coords: list[tuple[float, float]]  # [lon, lat]


@dataclass
class Leg:
    """The way from stop ``from_stop`` to stop ``to_stop`` (indices into `DayPlan.stops`)."""

    from_stop: int
    to_stop: int
    time_s: float
    length_m: float
    segments: list[Segment]

    def geometry(self) -> dict[str, Any]:
        coords: list[list[float]] = []
        for seg in self.segments:
            for lon, lat in seg.coords:
                p = [round(lon, 7), round(lat, 7)]
                if not coords or coords[-1] != p:
                    coords.append(p)
        if len(coords) == 1:
            coords.append(coords[0])
        return {"type": "LineString", "coordinates": coords}

    def to_dict(self) -> dict[str, Any]:
        return {
            "from_stop": self.from_stop, "to_stop": self.to_stop, "time_s": round(self.time_s, 1),
            "length_m": round(self.length_m, 1),
            "modes": [s.mode for s in self.segments],
            "geometry": self.geometry(),
        }


@dataclass
class Unassigned:
    """A visit left out, with the reason."""

    visit_id: str
    label: str
    priority: int
    reason: str
    code: str  # no_road | unreachable | window | shift | priority | capacity

    def to_dict(self) -> dict[str, Any]:
        return {"visit_id": self.visit_id, "label": self.label, "priority": self.priority,
                "reason": self.reason, "code": self.code}


@dataclass
class DayPlan:
    """One day's route."""

    mode: str
    shift: Shift
    stops: list[Stop]
    legs: list[Leg]
    unassigned: list[Unassigned]
    warnings: list[str]
    snap_m: dict[str, float]
    solver: dict[str, Any]

    @property
    def visit_ids(self) -> list[str]:
        return [s.visit_id for s in self.stops if s.kind == "visit" and s.visit_id is not None]

    def totals(self) -> dict[str, float]:
        """Minutes of travel, service (visits), idle (waiting), breaks, reception and the whole day."""
        travel = sum(leg.time_s for leg in self.legs) / 60
        service = sum(s.departure_min - s.start_min for s in self.stops if s.kind == "visit")
        idle = sum(s.start_min - s.arrival_min for s in self.stops if s.kind in ("visit", "reception"))
        breaks = sum(s.departure_min - s.start_min for s in self.stops if s.kind == "break")
        reception = sum(s.departure_min - s.start_min for s in self.stops if s.kind == "reception")
        day = self.stops[-1].arrival_min - self.stops[0].departure_min if self.stops else 0.0
        length = sum(leg.length_m for leg in self.legs)
        return {"travel_min": round(travel, 1), "service_min": round(service, 1), "idle_min": round(idle, 1),
                "break_min": round(breaks, 1), "reception_min": round(reception, 1), "day_min": round(day, 1),
                "length_m": round(length, 1), "visits": len(self.visit_ids),
                "unassigned": len(self.unassigned)}

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "shift": {"start": hhmm(self.shift.start_min), "end": hhmm(self.shift.end_min),
                      "breaks": [[hhmm(s), hhmm(e)] for s, e in self.shift.breaks],
                      "reception": [hhmm(x) for x in self.shift.reception] if self.shift.reception else None},
            "stops": [s.to_dict() for s in self.stops],
            "legs": [leg.to_dict() for leg in self.legs],
            "totals": self.totals(),
            "unassigned": [u.to_dict() for u in self.unassigned],
            "warnings": list(self.warnings),
            "snap_m": {k: round(v, 1) for k, v in self.snap_m.items()},
            "solver": dict(self.solver),
        }

# -- validation ------------------------------------------------------------------------------

def _check_window(w: tuple[int, int], what: str) -> tuple[int, int]:
    try:
        s, e = (int(round(float(w[0]))), int(round(float(w[1]))))
    except (TypeError, ValueError, IndexError):
        msg = f"{what}: a time window must be two numbers of minutes since midnight, got {w!r}"
        raise InputError(msg) from None
    if e <= s:
        msg = f"{what}: time window {hhmm(s)}-{hhmm(e)} ends before it starts"
        raise InputError(msg)
    if s < 0 or e > 2 * 1440:
        msg = f"{what}: time window {s}-{e} is outside 0-2880 minutes"
        raise InputError(msg)
    return s, e


def validate(visits: list[Visit], shift: Shift, mode: str, *, limit: int = MAX_VISITS) -> None:
    """Raise `InputError` for input the planner cannot take (and normalise windows in place)."""
    if mode not in TRAVEL_MODES:
        msg = f"unknown travel mode {mode!r}; use one of {', '.join(TRAVEL_MODES)}"
        raise InputError(msg)
    if len(visits) > limit:
        msg = f"{len(visits)} visits: at most {limit} fit in one plan"
        raise InputError(msg)
    shift.start_min, shift.end_min = _check_window((shift.start_min, shift.end_min), "shift")
    shift.breaks = sorted(_check_window(b, "break") for b in shift.breaks)
    for s, e in shift.breaks:
        if s < shift.start_min or e > shift.end_min:
            msg = f"break {hhmm(s)}-{hhmm(e)} is outside the shift {hhmm(shift.start_min)}-{hhmm(shift.end_min)}"
            raise InputError(msg)
    for (_s1, e1), (s2, _) in zip(shift.breaks, shift.breaks[1:]):
        if s2 < e1:
            msg = "breaks overlap"
            raise InputError(msg)
    if shift.reception is not None:
        shift.reception = _check_window(shift.reception, "reception")
        rs, re_ = shift.reception
        if rs < shift.start_min or rs >= shift.end_min:
            msg = (f"reception {hhmm(rs)}-{hhmm(re_)} must start within the shift "
                   f"{hhmm(shift.start_min)}-{hhmm(shift.end_min)}")
            raise InputError(msg)
        if any(s < re_ and rs < e for s, e in shift.breaks):
            msg = "the reception overlaps a break"
            raise InputError(msg)
    seen: set[str] = set()
    for i, v in enumerate(visits):
        what = f"visit {i + 1}"
        if not isinstance(v, Visit):
            msg = f"{what}: not a Visit"
            raise InputError(msg)
        v.id = str(v.id)
        if v.id in seen:
            msg = f"{what}: duplicate visit id"
            raise InputError(msg)
        seen.add(v.id)
        try:
            v.lat, v.lon = float(v.lat), float(v.lon)
            v.service_min = float(v.service_min)
        except (TypeError, ValueError):
            msg = f"{what}: lat, lon and service_min must be numbers"
            raise InputError(msg) from None
        if not (math.isfinite(v.lat) and math.isfinite(v.lon) and -90 <= v.lat <= 90 and -180 <= v.lon <= 180):
            msg = f"{what}: latitude/longitude out of range"
            raise InputError(msg)
        if not (0 <= v.service_min <= 1440):
            msg = f"{what}: service_min must be between 0 and 1440"
            raise InputError(msg)
        if v.priority not in PRIORITY_CLASSES:
            msg = f"{what}: priority must be one of 1, 2, 3, 4 (1 is the most important)"
            raise InputError(msg)
        v.time_windows = sorted(_check_window(w, what) for w in v.time_windows)


__all__ = ["Visit", "Shift", "Stop", "Leg", "Segment", "Unassigned", "DayPlan", "validate", "hhmm",
           "minutes_of", "MAX_VISITS", "PRIORITY_CLASSES", "PRIORITY_NAMES", "PREVENTIVE_REGISTER", "APPEAL",
           "RECEPTION", "TRAVEL_MODES", "TravelMode", "PriorityClass", "PriorityName", "StopKind"]
