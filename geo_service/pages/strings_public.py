"""Texts of the residents' page (#22), in Kazakh, Russian
and English (merged into `geo_service.pages.i18n.STRINGS`)."""

from __future__ import annotations

from typing import Final

#: key -> {lang: text}; a key must not repeat one of another table (checked at import).
STRINGS: Final[dict[str, dict[str, str]]] = {
    # -- reception at the post --------------------------------------------------------------------
    "pub_post_hours": {"kk": "Бекетте қабылдау", "ru": "Приём в пункте", "en": "Reception at the post"},
    "pub_hours_not_given": {
        "kk": "Қабылдау уақыты көрсетілмеген: инспектордың телефонымен нақтылаңыз.",
        "ru": "Часы приёма не указаны: уточните по телефону инспектора.",
        "en": "Reception hours not given: ask the inspector by phone.",
    },
    # -- emergency ------------------------------------------------------------------------------
    "pub_emergency_title": {"kk": "Шұғыл жағдайда", "ru": "В экстренном случае", "en": "In an emergency"},
    "pub_emergency_call": {"kk": "102 нөміріне қоңырау шалу", "ru": "Позвонить 102", "en": "Call 102"},
    "pub_emergency_note": {
        "kk": "Учаскелік инспектор шұғыл қызмет емес. Қауіп төнсе, бірден 102-ге қоңырау шалыңыз.",
        "ru": "Участковый инспектор — не экстренная служба. Если вам угрожает опасность, сразу звоните 102.",
        "en": "The district inspector is not an emergency service. If you are in danger, call 102 at once.",
    },
    # -- "use my location" ------------------------------------------------------------------------
    "pub_locate_title": {"kk": "Бұл сіздің учаскеңіз бе?", "ru": "Это ваш участок?", "en": "Is this your precinct?"},
    "pub_locate_button": {"kk": "Менің орнымды анықтау", "ru": "Определить моё местоположение",
                          "en": "Use my location"},
    "pub_locate_note": {
        "kk": "Орныңыз тек учаскені тексеру үшін жіберіледі және сақталмайды.",
        "ru": "Местоположение отправляется только для проверки участка и не сохраняется.",
        "en": "Your location is sent only to check the precinct and is not kept.",
    },
    "pub_locating": {"kk": "Орныңыз анықталуда…", "ru": "Определяем местоположение…",
                     "en": "Finding your location…"},
    "pub_locate_checking": {"kk": "Учаске тексерілуде…", "ru": "Проверяем участок…", "en": "Checking the precinct…"},
    "pub_locate_here": {"kk": "Иә: сіз осы учаскедесіз ({name}).", "ru": "Да: вы на этом участке ({name}).",
                        "en": "Yes: you are in this precinct ({name})."},
    "pub_locate_other": {"kk": "Жоқ: сіз басқа учаскедесіз: {name}.",
                         "ru": "Нет: вы на другом участке: {name}.",
                         "en": "No: you are in another precinct: {name}."},
    "pub_locate_other_link": {"kk": "Сол учаскенің бетін ашу", "ru": "Открыть страницу этого участка",
                              "en": "Open that precinct's page"},
    "pub_locate_outside": {
        "kk": "Сіз қаланың ешбір учаскесінде емессіз. Ең жақыны: {name}, {distance} м.",
        "ru": "Вы вне участков города. Ближайший: {name}, {distance} м.",
        "en": "You are outside the city's precincts. The nearest: {name}, {distance} m.",
    },
    "pub_locate_accuracy": {
        "kk": "Орынның дәлдігі шамамен {m} м: шекараға жақын болсаңыз, мекенжайды картадан іздеңіз.",
        "ru": "Точность местоположения около {m} м: если вы у границы, найдите адрес на карте.",
        "en": "Your location is accurate to about {m} m: near a border, search the address on the map.",
    },
    "pub_locate_denied": {
        "kk": "Орныңызды анықтауға рұқсат берілмеді. Браузер баптауларында рұқсат етіңіз немесе мекенжайды "
              "картадан іздеңіз.",
        "ru": "Доступ к местоположению не разрешён. Разрешите его в настройках браузера или найдите адрес на "
              "карте.",
        "en": "Access to your location was not allowed. Allow it in the browser's settings, or search the address "
              "on the map.",
    },
    "pub_locate_unavailable": {
        "kk": "Орныңызды анықтау мүмкін болмады. Кейінірек қайталаңыз немесе мекенжайды картадан іздеңіз.",
        "ru": "Не удалось определить местоположение. Попробуйте ещё раз позже или найдите адрес на карте.",
        "en": "Your location could not be found. Try again later, or search the address on the map.",
    },
    "pub_locate_unsupported": {
        "kk": "Бұл браузер орынды анықтай алмайды. Мекенжайды картадан іздеңіз.",
        "ru": "Этот браузер не может определить местоположение. Найдите адрес на карте.",
        "en": "This browser cannot tell your location. Search the address on the map.",
    },
    "pub_locate_failed": {
        "kk": "Учаскені тексеру мүмкін болмады (байланыс жоқ па?). Кейінірек қайталаңыз.",
        "ru": "Не удалось проверить участок (нет связи?). Попробуйте позже.",
        "en": "The precinct could not be checked (no connection?). Try again later.",
    },
    "pub_locate_you": {"kk": "Сіздің орныңыз", "ru": "Ваше местоположение", "en": "Your location"},
    "pub_search_map": {"kk": "Мекенжайды картадан іздеу", "ru": "Найти адрес на карте",
                       "en": "Search an address on the map"},
    "map_zoom_in": {"kk": "Жақындату", "ru": "Приблизить", "en": "Zoom in"},
    "map_zoom_out": {"kk": "Алыстату", "ru": "Отдалить", "en": "Zoom out"},
    "map_fullscreen": {"kk": "Толық экран", "ru": "Во весь экран", "en": "Full screen"},
    "map_fullscreen_exit": {"kk": "Толық экраннан шығу", "ru": "Выйти из полноэкранного режима",
                            "en": "Exit full screen"},
}
