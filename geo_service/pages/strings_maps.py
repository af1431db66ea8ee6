"""Texts of the precinct map and base map (#21), in Kazakh, Russian
and English (merged into `geo_service.pages.i18n.STRINGS`)."""

from __future__ import annotations

from typing import Final

#: key -> {lang: text}; a key must not repeat one of another table (checked at import).
STRINGS: Final[dict[str, dict[str, str]]] = {
    "my_location": {"kk": "Менің орным", "ru": "Моё местоположение", "en": "Use my location"},
    "my_location_title": {
        "kk": "Тұрған жеріңіздің учаскесі мен учаскелік инспекторын көрсету",
        "ru": "Показать участок и участкового там, где вы находитесь",
        "en": "Show the precinct and inspector where you are",
    },
    "locating": {"kk": "Орныңыз анықталуда…", "ru": "Определяем ваше местоположение…",
                 "en": "Finding where you are…"},
    "geo_denied": {
        "kk": "Орныңызды анықтауға рұқсат берілмеді. Мекенжайды іздеу жолына жазыңыз.",
        "ru": "Доступ к местоположению не разрешён. Введите адрес в строку поиска.",
        "en": "Location access was not allowed. Type your address in the search box.",
    },
    "geo_unavailable": {
        "kk": "Орныңызды анықтау мүмкін болмады. Мекенжайды іздеу жолына жазыңыз.",
        "ru": "Не удалось определить местоположение. Введите адрес в строку поиска.",
        "en": "Your location could not be found. Type your address in the search box.",
    },
    "your_location": {"kk": "Сіздің орныңыз", "ru": "Ваше местоположение", "en": "Your location"},
    "unit_m": {"kk": "м", "ru": "м", "en": "m"},
    "unit_km": {"kk": "км", "ru": "км", "en": "km"},
    "legend_tiles_note": {
        "kk": "Учаскені картадан басыңыз немесе мекенжайды іздеңіз.",
        "ru": "Нажмите на участок на карте или найдите адрес.",
        "en": "Tap a precinct on the map or search an address.",
    },
}
