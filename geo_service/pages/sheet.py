"""The printable one-page route sheet of a day plan (standalone HTML with print CSS), in the
page's language, listing each visit's address when it has one (coordinates otherwise)."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from geo_service.pages.i18n import LANGS, stop_label, t, visit_type
from geo_service.routes.model import DayPlan

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


def sheet_html(plan: Mapping[str, Any], *, lang: str, date: str | None = None, inspector: str = "",
               title: str | None = None) -> str:
    """The printable sheet of a kept day plan (`DayPlan.to_dict`) in ``lang``; labels escaped.

    Each visit's place is its ``address`` when the stop has one, its coordinates otherwise
    (the post's stops, breaks and the reception: none).
    """
    lang = lang if lang in LANGS else "en"
    e = html.escape
    rows = []
    n = 0
    for s in plan.get("stops") or []:
        kind = str(s.get("kind") or "")
        num = ""
        if kind == "visit":
            n += 1
            num = str(n)
        what = stop_label(kind, str(s.get("label") or ""), lang)
        prio = visit_type(s.get("priority"), lang) if kind == "visit" else ""
        win = ", ".join(f"{a}–{b}" for a, b in s.get("time_windows") or [])
        address = str(s.get("address") or "")
        place = e(address) if address else (f'{float(s["lat"]):.5f}, {float(s["lon"]):.5f}' if kind == "visit" else "")
        rows.append(
            f'<tr class="{e(kind)}"><td class="num">{num}</td><td>{e(what)}</td><td>{e(prio)}</td>'
            f'<td class="num">{e(str(s.get("arrival") or ""))}</td><td class="num">{e(str(s.get("start") or ""))}</td>'
            f'<td class="num">{e(str(s.get("departure") or ""))}</td><td class="num">{e(win)}</td>'
            f'<td class="place">{place}</td><td class="note"></td></tr>')
    left = "".join(f"<li>{e(stop_label('visit', str(u.get('label') or ''), lang))}</li>"
                   for u in plan.get("unassigned") or [])
    left_html = f"<h2>{e(t('sheet_left', lang))}</h2><ul>{left}</ul>" if left else ""
    totals, shift = plan.get("totals") or {}, plan.get("shift") or {}
    sub = (f"{e(date) + ' · ' if date else ''}" + e(t(
        "sheet_meta", lang, start=shift.get("start", ""), end=shift.get("end", ""), visits=totals.get("visits", n),
        travel=f"{float(totals.get('travel_min') or 0):.0f}", service=f"{float(totals.get('service_min') or 0):.0f}",
        km=f"{float(totals.get('length_m') or 0) / 1000:.1f}")))
    title = title or t("sheet_title", lang, date=date or "", inspector=inspector).rstrip(" ·")
    head = "".join(f"<th>{e(c)}</th>" for c in t("sheet_cols", lang).split("|"))
    return (f"<!DOCTYPE html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{e(title)}</title>"
            f"<style>{SHEET_CSS}</style></head><body>"
            f"<h1>{e(title)}</h1><p class=\"meta\">{sub}</p>"
            f"<table><thead><tr>{head}</tr></thead><tbody>"
            + "".join(rows) + f"</tbody></table>{left_html}</body></html>\n")


def to_sheet_html(plan: DayPlan, *, title: str, date: str | None = None, lang: str = "en") -> str:
    """The printable sheet of a day plan as planned (`sheet_html` of its dict, titled ``title``)."""
    return sheet_html(plan.to_dict(), lang=lang, date=date, title=title)
