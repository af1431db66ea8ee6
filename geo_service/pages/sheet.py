"""The printable one-page route sheet of a day plan (standalone HTML with print CSS)."""

from __future__ import annotations

import html

from geo_service.routes.model import PRIORITY_CLASSES, DayPlan, hhmm

SHEET_CSS = """
body{font-family:system-ui,Arial,sans-serif;margin:1.5em;color:#000}
h1{font-size:1.3em;margin:0 0 .3em}
p.meta{margin:.2em 0 .8em;color:#333}
table{border-collapse:collapse;width:100%;font-size:.92em}
th,td{border:1px solid #777;padding:.25em .4em;text-align:left;vertical-align:top}
th{background:#eee}
td.num{text-align:right;white-space:nowrap}
tr.break td,tr.reception td{background:#f4f4f4;font-style:italic}
td.note{width:22%}
@media print{
 @page{size:A4 portrait;margin:12mm}
 body{margin:0;font-size:10pt}
 th{background:#ddd !important;-webkit-print-color-adjust:exact;print-color-adjust:exact}
 tr{page-break-inside:avoid}
 .noprint{display:none}
}
"""

def to_sheet_html(plan: DayPlan, *, title: str, date: str | None = None) -> str:
    """A printable one-page route sheet (standalone HTML with print CSS); labels are escaped."""
    e = html.escape
    t = plan.totals()
    rows = []
    n = 0
    for s in plan.stops:
        if s.kind == "visit":
            n += 1
            num = str(n)
        else:
            num = ""
        what = {"start": "Start", "end": "End", "break": "Break", "reception": "Reception at the post"}.get(
            s.kind, s.label)
        prio = PRIORITY_CLASSES.get(s.priority or 0, "")
        win = ", ".join(f"{hhmm(a)}-{hhmm(b)}" for a, b in s.time_windows)
        rows.append(
            f'<tr class="{e(s.kind)}"><td class="num">{num}</td><td>{e(what)}</td><td>{e(prio)}</td>'
            f'<td class="num">{hhmm(s.arrival_min)}</td><td class="num">{hhmm(s.start_min)}</td>'
            f'<td class="num">{hhmm(s.departure_min)}</td><td class="num">{e(win)}</td>'
            f'<td class="num">{s.lat:.5f}, {s.lon:.5f}</td><td class="note"></td></tr>')
    left = "".join(f"<li>{e(u.label or u.visit_id)}: {e(u.reason)}</li>" for u in plan.unassigned)
    left_html = f"<h2>Not in today's route</h2><ul>{left}</ul>" if left else ""
    sub = (f"{e(date) + ' · ' if date else ''}shift {hhmm(plan.shift.start_min)}-{hhmm(plan.shift.end_min)} · "
           f"{e(plan.mode)} · {t['visits']} visits · travel {t['travel_min']:.0f} min · "
           f"on site {t['service_min']:.0f} min · waiting {t['idle_min']:.0f} min · {t['length_m'] / 1000:.1f} km")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{e(title)}</title>"
            f"<style>{SHEET_CSS}</style></head><body>"
            f"<h1>{e(title)}</h1><p class=\"meta\">{sub}</p>"
            "<table><thead><tr><th>#</th><th>Visit</th><th>Kind</th><th>Arrive</th><th>Start</th>"
            "<th>Leave</th><th>Window</th><th>Location</th><th>Notes</th></tr></thead><tbody>"
            + "".join(rows) + f"</tbody></table>{left_html}</body></html>\n")
