"""Texts of planner pages: balance proposal, siting map job (#20, #22), in Kazakh, Russian
and English (merged into `geo_service.pages.i18n.STRINGS`)."""

from __future__ import annotations

from typing import Final

#: key -> {lang: text}; a key must not repeat one of another table (checked at import).
STRINGS: Final[dict[str, dict[str, str]]] = {
}
