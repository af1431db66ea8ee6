"""What each kind of job does with its inputs, in a worker: balance, schedule, siting, siting map.

A runner gets the worker's `Runtime` (its store, the city it serves, the city's time zone),
the job's row and the inputs the request checked and kept, and returns an `Outcome`: the
result's body and, for what a job writes beside its result (a schedule's day plans, their
due visits and audit rows), a ``keep`` step that runs in the same transaction as the job's
end, so a cancelled or lost job leaves no half of its writes. Each runner imports its
solver when it runs (scipy, HiGHS: a web process that only queues jobs never loads them).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from geo_service.errors import InputError
from geo_service.jsonsafe import json_safe
from geo_service.pages.sheet import to_sheet_html
from geo_service.routes.gpx import to_gpx
from geo_service.routes.model import Shift, Visit

if TYPE_CHECKING:
    from geo_service.appeals.store import AppealStore
    from geo_service.bundle import CityBundle
    from geo_service.store import Store


@dataclass
class Runtime:
    """What a worker runs jobs with: the store, the city it serves now, the city's time zone."""

    store: Store
    city: Callable[[], CityBundle]
    tz: str = "Asia/Almaty"
    _appeals: dict[int, AppealStore] = field(default_factory=dict)

    def appeal_store(self, city: CityBundle) -> AppealStore:
        from geo_service.appeals.store import AppealStore  # noqa: PLC0415 - SQLAlchemy loads with the store

        key = id(city)
        if key not in self._appeals:
            self._appeals.clear()
            self._appeals[key] = AppealStore(self.store, city=city, tz=self.tz)
        return self._appeals[key]


@dataclass
class Outcome:
    """A finished job's result body, and what else it keeps (run when the job's end is written)."""

    body: dict[str, Any]
    keep: Callable[[dict[str, Any]], dict[str, Any]] | None = None


def run_balance(rt: Runtime, job: dict[str, Any], inputs: dict[str, Any]) -> Outcome:
    """A balanced-precinct proposal (`geo_service.workload.balance.balance_precincts`)."""
    import geo_service.workload.balance as balance_module  # noqa: PLC0415 - scipy.sparse (start-up time)

    out = balance_module.balance_precincts(
        rt.city(), inspectors_per_post=inputs.get("inspectors_per_post"), hard_borders=inputs.get("hard_borders"),
        tolerance=float(inputs.get("tolerance", 0.10)), method=str(inputs.get("method", "grow")),
        max_extra_travel_min=inputs.get("max_extra_travel_min"))
    return Outcome(json_safe(out.to_dict()))


def run_siting(rt: Runtime, job: dict[str, Any], inputs: dict[str, Any]) -> Outcome:
    """A siting run (`geo_service.siting.request.run_siting`) with the job's budget; then its
    map's service areas (`geo_service.siting.map_layers`), kept beside it when the job ends,
    so the planner's first open of the map page is served at once."""
    from geo_service.siting import map_layers  # noqa: PLC0415 - with the solver
    from geo_service.siting.request import SitingBody, run_siting  # noqa: PLC0415 - HiGHS (start-up time)

    body = SitingBody(**inputs["body"])
    city = rt.city()
    out = run_siting(city, body, budget_s=float(inputs.get("budget_s") or 60.0))
    try:
        layers = map_layers.layers_body(city, job["id"], out)
    except InputError:  # the map page draws (or queues) them itself
        return Outcome(out)

    def keep(result: dict[str, Any]) -> dict[str, Any]:
        ref = rt.store.save_result(kind=map_layers.KIND, created_by=job["created_by"],
                                   body={"status": "done", **json_safe(layers)})
        rt.store.set_meta(map_layers.pointer_name(job["id"], layers["key"]), json.dumps({"id": ref}))
        return result

    return Outcome(out, keep)


def run_siting_map(rt: Runtime, job: dict[str, Any], inputs: dict[str, Any]) -> Outcome:
    """A kept siting result's service areas (`geo_service.siting.map_layers.layers_body`), for
    its map page; the store's pointer for their key names this job's result when it ends."""
    from geo_service.siting import map_layers  # noqa: PLC0415 - the road graph's isochrones

    result_id = str(inputs["result_id"])
    kept = rt.store.get_result(result_id, kind="siting")
    if kept is None:
        raise InputError("the siting result of this map is gone")
    layers = json_safe(map_layers.layers_body(rt.city(), result_id, kept["body"]))

    def keep(body: dict[str, Any]) -> dict[str, Any]:
        rt.store.set_meta(map_layers.pointer_name(result_id, layers["key"]), json.dumps({"id": job["id"]}))
        return body

    return Outcome(layers, keep)


def visit_inputs(v: Visit) -> dict[str, Any]:
    """A visit as a job keeps it (coordinates resolved, label kept: the database, not the broker)."""
    return {"id": v.id, "lat": v.lat, "lon": v.lon, "service_min": v.service_min, "priority": v.priority,
            "time_windows": [list(w) for w in v.time_windows], "label": v.label}


def shift_inputs(s: Shift) -> dict[str, Any]:
    return {"start_min": s.start_min, "end_min": s.end_min, "breaks": [list(b) for b in s.breaks],
            "reception": list(s.reception) if s.reception else None}


def _visit(d: dict[str, Any]) -> Visit:
    return Visit(id=d["id"], lat=float(d["lat"]), lon=float(d["lon"]), service_min=float(d["service_min"]),
                 priority=int(d["priority"]), time_windows=[(int(a), int(b)) for a, b in d["time_windows"]],
                 label=d.get("label", ""))


def _shift(d: dict[str, Any]) -> Shift:
    return Shift(start_min=int(d["start_min"]), end_min=int(d["end_min"]),
                 breaks=[(int(a), int(b)) for a, b in d["breaks"]],
                 reception=tuple(d["reception"]) if d.get("reception") else None)


def plan_urls(plan_id: str) -> dict[str, str]:
    """A kept plan's URLs."""
    base = f"/api/v1/routes/plans/{plan_id}"
    return {"self": base, "gpx": f"{base}/gpx", "sheet": f"{base}/sheet"}


def keep_plan(store: Store, appeals: AppealStore, day: Any, result: dict[str, Any], given_due: dict[str, str],
              *, created_by: str) -> str:
    """Keep a day plan (with its GPX and route sheet), record its visits as due on the given
    date or the plan's (the visits-made-on-time indicator counts them), audit it; the plan id."""
    date, inspector_id, precinct_id = result["date"], result["inspector_id"], result["precinct_id"]
    title = f"Route {date} · {inspector_id}"
    due = {s.visit_id: given_due.get(s.visit_id, date) for s in day.stops if s.kind == "visit"}
    kept = {**result, "due": due, "gpx": to_gpx(day, name=title, date=date, tz=str(appeals.tz)),  # the city's zone
            "sheet_html": to_sheet_html(day, title=title, date=date)}
    plan_id = store.save_plan(precinct_id=precinct_id, inspector_id=inspector_id, created_by=created_by, body=kept)
    appeals.record_due({"inspector_id": inspector_id, "visit_ref": s.visit_id, "due_date": due[s.visit_id],
                        "precinct_id": precinct_id, "priority": s.priority, "plan_id": plan_id}
                       for s in day.stops if s.kind == "visit")
    store.audit(principal=created_by, action="plan.create", record_type="plan", record_id=plan_id, outcome="ok")
    return plan_id


def run_schedule(rt: Runtime, job: dict[str, Any], inputs: dict[str, Any]) -> Outcome:
    """An inspector's period (`geo_service.routes.schedule.schedule_period`); with ``save`` its
    days with visits kept as plans when the job ends."""
    from geo_service.routes.schedule import RecurringVisit, schedule_period  # noqa: PLC0415 - HiGHS, VROOM

    city = rt.city()
    visits = [RecurringVisit(visit=_visit(r["visit"]), every_days=r.get("every_days"), per_month=r.get("per_month"),
                             due=dt.date.fromisoformat(r["due"]) if r.get("due") else None,
                             min_gap_days=int(r.get("min_gap_days", 1))) for r in inputs["visits"]]
    post = inputs.get("post")
    if post is None:
        raise InputError("the precinct has no post: give start as [lat, lon]")
    result = schedule_period(city, start_date=dt.date.fromisoformat(inputs["start_date"]), days=int(inputs["days"]),
                             visits=visits, post=(float(post[0]), float(post[1])), shift=_shift(inputs["shift"]),
                             days_off=[dt.date.fromisoformat(d) for d in inputs.get("days_off", [])],
                             mode=inputs.get("mode", "walk"), reception_weekdays=inputs.get("reception_weekdays"))
    inspector_id, precinct_id = inputs["inspector_id"], inputs["precinct_id"]
    out = {"inspector_id": inspector_id, "precinct_id": precinct_id, "warnings": list(inputs.get("warnings", [])),
           **result.to_dict()}
    out = json_safe(out)
    if not inputs.get("save", True):
        return Outcome(out)

    def keep(body: dict[str, Any]) -> dict[str, Any]:
        appeals = rt.appeal_store(city)
        for day, row in zip(result.days, body["days"]):
            if day.plan is None or not day.plan.visit_ids:
                continue
            plan_id = keep_plan(rt.store, appeals, day.plan,
                                {"inspector_id": inspector_id, "precinct_id": precinct_id,
                                 "date": day.date.isoformat(), "plan": row["plan"], "warnings": []},
                                {k: v.isoformat() for k, v in day.due.items()}, created_by=job["created_by"])
            row["plan_id"], row["links"] = plan_id, plan_urls(plan_id)
        return body

    return Outcome(out, keep)


#: kind -> runner
RUNNERS: dict[str, Callable[[Runtime, dict[str, Any], dict[str, Any]], Outcome]] = {
    "balance": run_balance, "schedule": run_schedule, "siting": run_siting, "siting_map": run_siting_map}

__all__ = ["RUNNERS", "Outcome", "Runtime", "keep_plan", "plan_urls", "shift_inputs", "visit_inputs"]
