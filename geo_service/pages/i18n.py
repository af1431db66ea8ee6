"""Texts a person reads on the pages, in Kazakh, Russian and English.

The language comes from ``?lang=`` first, then the browser's ``Accept-Language``
header, and is Russian when neither names a language the service speaks.
Street names, precinct names and other data are shown as the data has them;
only the service's own words are translated here.

Framework-free: the pages blueprint passes the raw query value and header.
"""

from __future__ import annotations

import re
from typing import Any, Final

from geo_service.pages import strings_maps, strings_planner, strings_public, strings_signin

__all__ = ["DEFAULT_LANG", "LANGS", "LANG_NAMES", "STRINGS", "catalog", "choose_lang", "stop_label", "t", "visit_type"]

LANGS: Final[tuple[str, ...]] = ("kk", "ru", "en")
DEFAULT_LANG: Final[str] = "ru"
#: Each language's name in itself, for the switch.
LANG_NAMES: Final[dict[str, str]] = {"kk": "Қазақша", "ru": "Русский", "en": "English"}

#: key -> {lang: text}. ``{name}`` placeholders are filled by `t` (Python) or the page script.
STRINGS: Final[dict[str, dict[str, str]]] = {
    "service_name": {
        "kk": "Учаскелік полиция инспекторлары",
        "ru": "Участковые инспекторы полиции",
        "en": "District police inspectors",
    },
    "home_title": {
        "kk": "Учаскелер мен инспекторлар картасы",
        "ru": "Карта участков и инспекторов",
        "en": "Precincts and inspectors map",
    },
    "home_intro": {
        "kk": "Мекенжай бойынша учаскені, учаскелік инспекторды және полиция бекетін табыңыз.",
        "ru": "Найдите по адресу свой участок, участкового инспектора и пункт полиции.",
        "en": "Find the precinct, the district inspector and the police post for an address.",
    },
    "nav_precincts": {"kk": "Учаскелер картасы", "ru": "Карта участков", "en": "Precinct map"},
    "nav_docs": {"kk": "API құжаттамасы", "ru": "Документация API", "en": "API documentation"},
    "nav_home": {"kk": "Басты бет", "ru": "Главная", "en": "Home"},
    "city": {"kk": "Қала", "ru": "Город", "en": "City"},
    "demo_note": {
        "kk": "Демо: инспекторлар ойдан шығарылған, учаскелер уақытша (бекеттерден есептелген), карта 2012 жылғы.",
        "ru": "Демо: инспекторы вымышленные, участки предварительные (выведены из пунктов), карта 2012 года.",
        "en": "Demo: inspectors are fictitious, precincts provisional (derived from the posts), map data of 2012.",
    },
    "language": {"kk": "Тіл", "ru": "Язык", "en": "Language"},
    "precincts_title": {"kk": "Учаскелер", "ru": "Участки", "en": "Precincts"},
    "search_label": {"kk": "Мекенжай", "ru": "Адрес", "en": "Address"},
    "search_placeholder": {
        "kk": "Көше және үй нөмірі",
        "ru": "Улица и номер дома",
        "en": "Street and house number",
    },
    "search_button": {"kk": "Табу", "ru": "Найти", "en": "Find"},
    "searching": {"kk": "Іздеу…", "ru": "Поиск…", "en": "Searching…"},
    "choose_candidate": {
        "kk": "Бірнеше мекенжай табылды, біреуін таңдаңыз:",
        "ru": "Найдено несколько адресов, выберите один:",
        "en": "Several addresses match, choose one:",
    },
    "no_precinct": {"kk": "учаскеден тыс", "ru": "вне участков", "en": "outside the precincts"},
    "err_empty": {"kk": "Мекенжайды енгізіңіз.", "ru": "Введите адрес.", "en": "Enter an address."},
    "err_not_found": {
        "kk": "Бұл мекенжай табылмады. Көше атауы мен үй нөмірін тексеріңіз.",
        "ru": "Адрес не найден. Проверьте название улицы и номер дома.",
        "en": "Address not found. Check the street name and house number.",
    },
    "err_outside": {
        "kk": "Бұл нүкте ешбір учаскеге кірмейді. Ең жақыны: {name}, {distance} м.",
        "ru": "Эта точка не входит ни в один участок. Ближайший: {name}, {distance} м.",
        "en": "This point is in no precinct. The nearest is {name}, {distance} m away.",
    },
    "err_bad_input": {
        "kk": "Сұрау дұрыс емес: {detail}",
        "ru": "Неверный запрос: {detail}",
        "en": "Invalid request: {detail}",
    },
    "err_offline": {
        "kk": "Байланыс жоқ. Іздеу үшін интернет қажет; карта офлайн жұмыс істейді.",
        "ru": "Нет связи. Для поиска нужен интернет; карта работает офлайн.",
        "en": "No connection. Search needs the network; the map works offline.",
    },
    "err_server": {
        "kk": "Сервис қазір жауап бере алмады. Кейінірек қайталаңыз.",
        "ru": "Сервис сейчас не смог ответить. Повторите позже.",
        "en": "The service could not answer now. Try again later.",
    },
    "card_close": {"kk": "Жабу", "ru": "Закрыть", "en": "Close"},
    "card_hint": {
        "kk": "Инспекторды көру үшін учаскені басыңыз немесе мекенжайды іздеңіз.",
        "ru": "Нажмите на участок или найдите адрес, чтобы увидеть инспектора.",
        "en": "Tap a precinct or search an address to see its inspector.",
    },
    "inspector": {"kk": "Учаскелік инспектор", "ru": "Участковый инспектор", "en": "District inspector"},
    "no_inspector": {
        "kk": "Инспектор тағайындалмаған.",
        "ru": "Инспектор не назначен.",
        "en": "No inspector assigned.",
    },
    "rank": {"kk": "Атағы", "ru": "Звание", "en": "Rank"},
    "phone": {"kk": "Жұмыс телефоны", "ru": "Рабочий телефон", "en": "Work phone"},
    "reception_hours": {"kk": "Қабылдау уақыты", "ru": "Часы приёма", "en": "Reception hours"},
    "post": {"kk": "Полиция бекеті", "ru": "Пункт полиции", "en": "Police post"},
    "no_post": {"kk": "Бекет көрсетілмеген.", "ru": "Пункт не указан.", "en": "No post given."},
    "travel_walk": {"kk": "Жаяу: {minutes} мин", "ru": "Пешком: {minutes} мин", "en": "On foot: {minutes} min"},
    "travel_drive": {
        "kk": "Көлікпен: {minutes} мин",
        "ru": "На машине: {minutes} мин",
        "en": "By car: {minutes} min",
    },
    "on_border": {
        "kk": "Мекенжай учаскелер шекарасында; ереже бойынша таңдалды.",
        "ru": "Адрес на границе участков; участок выбран по правилу.",
        "en": "The address is on a precinct border; the precinct was chosen by rule.",
    },
    "legend": {"kk": "Шартты белгілер", "ru": "Легенда", "en": "Legend"},
    "official": {"kk": "ресми", "ru": "официальный", "en": "official"},
    "derived": {
        "kk": "есептелген / уақытша",
        "ru": "расчётный / предварительный",
        "en": "derived / provisional",
    },
    "layer_roads": {"kk": "Жолдар", "ru": "Дороги", "en": "Roads"},
    "layer_precincts": {"kk": "Учаскелер", "ru": "Участки", "en": "Precincts"},
    "layer_posts": {"kk": "Полиция бекеттері", "ru": "Пункты полиции", "en": "Police posts"},
    "layer_osm": {
        "kk": "OpenStreetMap картасы (интернет)",
        "ru": "Карта OpenStreetMap (интернет)",
        "en": "OpenStreetMap tiles (online)",
    },
    "match_house": {"kk": "Үй табылды", "ru": "Дом найден", "en": "House found"},
    "match_house_not_found": {
        "kk": "{house} үйі табылмады: картада ең жақын белгілі нүкте — {where}. Үйіңізді картадан таңдаңыз.",
        "ru": "Дом {house} не найден: на карте ближайшая известная точка — {where}. Выберите свой дом на карте.",
        "en": "House {house} not found: the map shows the nearest known point, {where}. Choose your house on the map.",
    },
    "match_street_middle": {"kk": "көшенің ортасы", "ru": "середина улицы", "en": "the middle of the street"},
    "match_street_only": {
        "kk": "Үй нөмірі берілмеген: картада көшенің ортасы. Нөмірді жазыңыз немесе үйді картадан таңдаңыз.",
        "ru": "Номер дома не указан: на карте середина улицы. Укажите номер или выберите дом на карте.",
        "en": "No house number given: the map shows the middle of the street. Add the number or choose on the map.",
    },
    "match_place": {
        "kk": "Картада шағын ауданның ортасы. Үйді нақтылаңыз немесе картадан таңдаңыз.",
        "ru": "На карте середина микрорайона. Уточните дом или выберите его на карте.",
        "en": "The map shows the middle of the microdistrict. Give the house or choose it on the map.",
    },
    "precinct_undetermined": {
        "kk": "Көше {count} учаскені кесіп өтеді ({names}): учаске анықталмады. Үй нөмірін жазыңыз немесе "
              "картадан нүктені таңдаңыз.",
        "ru": "Улица проходит через несколько участков ({count}: {names}): участок не определён. Укажите номер дома "
              "или выберите точку на карте.",
        "en": "The street crosses {count} precincts ({names}): the precinct is not determined. Give the house "
              "number or choose the point on the map.",
    },
    "precinct_maybe": {"kk": "Мүмкін учаске", "ru": "Возможный участок", "en": "Possible precinct"},
    "your_address": {"kk": "Іздеген мекенжай", "ru": "Найденный адрес", "en": "Found address"},
    "docs_title": {"kk": "API құжаттамасы", "ru": "Документация API", "en": "API documentation"},
    "map_data": {"kk": "Карта деректері", "ru": "Данные карты", "en": "Map data"},
    # -- route page ---------------------------------------------------------------------------
    "route_title": {"kk": "Маршрут · {date}", "ru": "Маршрут · {date}", "en": "Route · {date}"},
    "route_summary": {
        "kk": "Бару саны: {visits} · {km} км · {start}–{end}",
        "ru": "Посещений: {visits} · {km} км · {start}–{end}",
        "en": "{visits} visits · {km} km · {start}–{end}",
    },
    "stops": {"kk": "Маршрут нүктелері", "ru": "Точки маршрута", "en": "Stops"},
    "time_arrive": {"kk": "Келу", "ru": "Прибытие", "en": "Arrive"},
    "time_start": {"kk": "Басы", "ru": "Начало", "en": "Start"},
    "time_leave": {"kk": "Кету", "ru": "Уход", "en": "Leave"},
    "stop_start": {"kk": "Бекеттен шығу", "ru": "Выход с пункта", "en": "Leave the post"},
    "stop_end": {"kk": "Бекетке қайту", "ru": "Возвращение на пункт", "en": "Back at the post"},
    "stop_break": {"kk": "Үзіліс", "ru": "Перерыв", "en": "Break"},
    "stop_reception": {
        "kk": "Бекетте азаматтарды қабылдау",
        "ru": "Приём граждан на пункте",
        "en": "Reception at the post",
    },
    "stop_visit": {"kk": "Бару", "ru": "Посещение", "en": "Visit"},
    "stop_window": {"kk": "Бару уақыты", "ru": "Окно визита", "en": "Time window"},
    "stop_address": {"kk": "Мекенжай", "ru": "Адрес", "en": "Address"},
    "stop_made_map": {"kk": "барылды", "ru": "посещено", "en": "made"},
    "vtype_1": {"kk": "Отбасылық зорлық-зомбылық: қайта бару", "ru": "Бытовое насилие: повторный визит",
                "en": "Domestic violence follow-up"},
    "vtype_2": {"kk": "Профилактикалық есеп", "ru": "Профилактический учёт", "en": "Preventive register"},
    "vtype_3": {"kk": "Азаматтың өтініші", "ru": "Обращение гражданина", "en": "Citizen's appeal"},
    "vtype_4": {"kk": "Патрульдік нүкте", "ru": "Точка патрулирования", "en": "Patrol point"},
    "appeal_label": {"kk": "Өтініш: {category}", "ru": "Обращение: {category}", "en": "Appeal: {category}"},
    "cat_noise": {"kk": "шу", "ru": "шум", "en": "noise"},
    "cat_domestic": {"kk": "тұрмыстық жанжал", "ru": "бытовой конфликт", "en": "domestic"},
    "cat_neighbours": {"kk": "көршілер", "ru": "соседи", "en": "neighbours"},
    "cat_theft": {"kk": "ұрлық", "ru": "кража", "en": "theft"},
    "cat_traffic": {"kk": "жол қозғалысы", "ru": "дорожное движение", "en": "traffic"},
    "cat_drunkenness": {"kk": "маскүнемдік", "ru": "пьянство", "en": "drunkenness"},
    "cat_animals": {"kk": "жануарлар", "ru": "животные", "en": "animals"},
    "cat_other": {"kk": "басқа", "ru": "другое", "en": "other"},
    "show_on_map": {"kk": "Картадан көрсету", "ru": "Показать на карте", "en": "Show on the map"},
    "mark_made": {"kk": "Барылды деп белгілеу", "ru": "Отметить: посещено", "en": "Mark as made"},
    "made_at": {"kk": "Барылды, {time}", "ru": "Посещено, {time}", "en": "Made, {time}"},
    "undo_made": {"kk": "Белгіні алып тастау", "ru": "Отменить отметку", "en": "Undo the mark"},
    "marks_refused": {"kk": "Байланыссыз қойылған бұл белгілерді сервер қабылдамады (сілтеменің мерзімі өтуі мүмкін). "
                            "Жаңа сілтемеден қайта белгілеңіз:",
                      "ru": "Эти отметки, сделанные без связи, сервер не принял (возможно, истёк срок ссылки). "
                            "Отметьте их снова по новой ссылке:",
                      "en": "The server refused these marks made offline (the link may have expired). "
                            "Mark them again from a new link:"},
    "sheet_title": {"kk": "Маршрут {date} · {inspector}", "ru": "Маршрут {date} · {inspector}",
                    "en": "Route {date} · {inspector}"},
    "sheet_meta": {"kk": "Ауысым {start}–{end} · {visits} бару · жол {travel} мин · орында {service} мин · {km} км",
                   "ru": "Смена {start}–{end} · посещений: {visits} · в пути {travel} мин · на месте {service} мин · "
                         "{km} км",
                   "en": "Shift {start}–{end} · {visits} visits · travel {travel} min · on site {service} min · "
                         "{km} km"},
    "sheet_cols": {"kk": "#|Бару|Түрі|Келу|Басы|Кету|Уақыт аралығы|Мекенжай|Ескертпе",
                   "ru": "#|Посещение|Вид|Прибытие|Начало|Уход|Окно|Адрес|Заметки",
                   "en": "#|Visit|Kind|Arrive|Start|Leave|Window|Address|Notes"},
    "sheet_left": {"kk": "Бүгінгі маршрутқа кірмегендер", "ru": "Не вошли в маршрут", "en": "Not in today's route"},
    "marks_pending": {"kk": "Жіберуді күтуде: байланыс қалпына келгенде белгі жіберіледі",
                      "ru": "Ждёт отправки: отметка уйдёт, когда появится связь",
                      "en": "Waiting to send: the mark goes when the connection is back"},
    "marks_forget": {"kk": "Тізімді жабу", "ru": "Скрыть список", "en": "Dismiss"},
    "stop": {"kk": "Нүкте", "ru": "Точка", "en": "Stop"},
    "nav_open": {"kk": "Жолды қосымшада ашу", "ru": "Открыть путь в приложении", "en": "Open the way in an app"},
    "nav_geo": {"kk": "Навигатор", "ru": "Навигатор", "en": "Navigator"},
    "nav_2gis": {"kk": "2GIS", "ru": "2ГИС", "en": "2GIS"},
    "nav_yandex": {"kk": "Яндекс Карталар", "ru": "Яндекс Карты", "en": "Yandex Maps"},
    "gpx_download": {"kk": "GPX файлы", "ru": "Файл GPX", "en": "GPX file"},
    "print_sheet": {"kk": "Басып шығару парағы", "ru": "Лист для печати", "en": "Printable sheet"},
    "layer_route": {"kk": "Маршрут", "ru": "Маршрут", "en": "Route"},
    "layer_stops": {"kk": "Маршрут нүктелері", "ru": "Точки маршрута", "en": "Stops"},
    "layer_precinct": {"kk": "Учаске шекарасы", "ru": "Граница участка", "en": "Precinct boundary"},
    "unassigned": {"kk": "Маршрутқа кірмеді", "ru": "Не вошли в маршрут", "en": "Not in today's route"},
    "reason_no_road": {"kk": "жолдан тым алыс", "ru": "слишком далеко от дорог", "en": "too far from any road"},
    "reason_unreachable": {"kk": "жету мүмкін емес", "ru": "не добраться", "en": "cannot be reached"},
    "reason_window": {
        "kk": "уақыт аралығына сыймайды",
        "ru": "не успеть в заданное время",
        "en": "its time window cannot be met",
    },
    "reason_shift": {"kk": "жұмыс уақытына сыймайды", "ru": "не помещается в смену", "en": "does not fit the shift"},
    "reason_priority": {
        "kk": "маңыздырақ барулар үшін қалдырылды",
        "ru": "уступил более важным посещениям",
        "en": "left for more urgent visits",
    },
    "reason_capacity": {"kk": "күн толы", "ru": "день заполнен", "en": "the day is full"},
    # -- siting page -------------------------------------------------------------------------
    "siting_title": {"kk": "Жаңа полиция бекеттері", "ru": "Новые пункты полиции", "en": "New police posts"},
    "siting_params": {
        "kk": "Модель: {model} · T = {minutes} мин, {mode}",
        "ru": "Модель: {model} · T = {minutes} мин, {mode}",
        "en": "Model: {model} · T = {minutes} min, {mode}",
    },
    "mode_walk": {"kk": "жаяу", "ru": "пешком", "en": "on foot"},
    "mode_drive": {"kk": "көлікпен", "ru": "на машине", "en": "by car"},
    "coverage": {
        "kk": "T ішінде қамтылған тұрғындар: {before} → {after}",
        "ru": "Жители в пределах T: {before} → {after}",
        "en": "Residents within T: {before} → {after}",
    },
    "existing_posts": {"kk": "Қолданыстағы бекеттер", "ru": "Действующие пункты", "en": "Existing posts"},
    "proposed_posts": {"kk": "Ұсынылған бекеттер", "ru": "Предлагаемые пункты", "en": "Proposed posts"},
    "service_areas": {
        "kk": "{minutes} минутта жететін аймақ",
        "ru": "Зона доступности за {minutes} мин",
        "en": "Reached within {minutes} min",
    },
    "uncovered_demand": {
        "kk": "Қамтылмаған тұрғындар (жылу картасы)",
        "ru": "Непокрытые жители (тепловая карта)",
        "en": "Residents not covered (heat)",
    },
    "marginal_title": {"kk": "Әр жаңа бекеттің үлесі", "ru": "Вклад каждого нового пункта",
                       "en": "Gain of each new post"},
    "col_site": {"kk": "Орны", "ru": "Место", "en": "Site"},
    "col_value": {"kk": "Қамту", "ru": "Охват", "en": "Coverage"},
    "col_value_time": {"kk": "Орташа уақыт, мин", "ru": "Среднее время, мин", "en": "Mean time, min"},
    "col_gain": {"kk": "Өсім, п.т.", "ru": "Прирост, п.п.", "en": "Gain, pp"},
    "col_gain_time": {"kk": "Өсім, мин", "ru": "Прирост, мин", "en": "Gain, min"},
    "no_marginal": {"kk": "Кесте есептелмеген.", "ru": "Таблица не рассчитана.", "en": "No table was computed."},
    # -- workload page ------------------------------------------------------------------------
    "nav_workload": {"kk": "Жүктеме картасы", "ru": "Карта нагрузки", "en": "Workload map"},
    "workload_title": {"kk": "Учаскелер бойынша жүктеме", "ru": "Нагрузка по участкам", "en": "Workload by precinct"},
    "indicator": {"kk": "Көрсеткіш", "ru": "Показатель", "en": "Indicator"},
    "ind_workload_per_inspector": {
        "kk": "Бір инспекторға жүктеме индексі",
        "ru": "Индекс нагрузки на инспектора",
        "en": "Workload index per inspector",
    },
    "ind_workload_index": {"kk": "Учаске жүктемесінің индексі", "ru": "Индекс нагрузки участка",
                           "en": "Precinct workload index"},
    "ind_inspectors": {"kk": "Инспекторлар", "ru": "Инспекторов", "en": "Inspectors"},
    "ind_residents": {"kk": "Тұрғындар (бағалау)", "ru": "Жители (оценка)", "en": "Residents (estimate)"},
    "ind_addresses": {"kk": "Мекенжайлар", "ru": "Адресов", "en": "Addresses"},
    "ind_area_km2": {"kk": "Аумақ, км²", "ru": "Площадь, км²", "en": "Area, km²"},
    "ind_road_km": {"kk": "Жолдар, км", "ru": "Дороги, км", "en": "Roads, km"},
    "ind_walk_mean_min": {
        "kk": "Бекеттен жаяу, орташа мин",
        "ru": "Пешком от пункта, среднее, мин",
        "en": "Walk from the post, mean min",
    },
    "ind_walk_p90_min": {
        "kk": "Бекеттен жаяу, 90-процентиль, мин",
        "ru": "Пешком от пункта, 90-й процентиль, мин",
        "en": "Walk from the post, 90th percentile, min",
    },
    "ind_appeals": {"kk": "Өтініштер (өткен ай)", "ru": "Обращения (прошлый месяц)", "en": "Appeals (last month)"},
    "workload_summary": {
        "kk": "Бір инспекторға жүктеме: ең үлкен / ең кіші = {ratio} · Джини = {gini}",
        "ru": "Нагрузка на инспектора: макс / мин = {ratio} · Джини = {gini}",
        "en": "Workload per inspector: max / min = {ratio} · Gini = {gini}",
    },
    "workload_note": {
        "kk": "Индекс 1,0 — қаладағы орташа. Өтініштер: {period}.",
        "ru": "Индекс 1,0 — среднее по городу. Обращения: {period}.",
        "en": "An index of 1.0 is the city average. Appeals: {period}.",
    },
    "workload_table": {"kk": "Индекс бойынша учаскелер", "ru": "Участки по индексу", "en": "Precincts by index"},
    "col_index": {"kk": "Индекс / инсп.", "ru": "Индекс / инсп.", "en": "Index / insp."},
    "col_residents": {"kk": "Тұрғындар", "ru": "Жители", "en": "Residents"},
    "col_area": {"kk": "км²", "ru": "км²", "en": "km²"},
    "col_walk": {"kk": "Жаяу, мин", "ru": "Пешком, мин", "en": "Walk, min"},
    "col_appeals": {"kk": "Өтініш", "ru": "Обращ.", "en": "Appeals"},
    "col_precinct": {"kk": "Учаске", "ru": "Участок", "en": "Precinct"},
    "scale": {"kk": "Шкала", "ru": "Шкала", "en": "Scale"},
    "no_data": {"kk": "дерек жоқ", "ru": "нет данных", "en": "no data"},
    # -- reform dashboard ----------------------------------------------------------------------
    "nav_dashboard": {"kk": "Реформа көрсеткіштері", "ru": "Показатели реформы", "en": "Reform indicators"},
    "dash_title": {"kk": "Реформа көрсеткіштері", "ru": "Показатели реформы", "en": "Reform indicators"},
    "dash_intro": {
        "kk": ("Азаматтардың өтініштері, алғашқы байланысқа дейінгі уақыт, тұрғындардың сенімі және "
               "профилактикалық есептегілерге уақтылы барулар айлар бойынша."),
        "ru": ("Обращения граждан, время до первого контакта, доверие жителей и посещения состоящих "
               "на профучёте вовремя по месяцам."),
        "en": ("Citizens' appeals, time to first contact, residents' trust and preventive-register "
               "visits made on time, by month."),
    },
    "dash_csv": {"kk": "Айлық көрсеткіштер (CSV)", "ru": "Месячные показатели (CSV)", "en": "Monthly indicators (CSV)"},
    "dash_chart_appeals": {
        "kk": "Айына түскен өтініштер",
        "ru": "Поступившие обращения в месяц",
        "en": "Appeals received per month",
    },
    "dash_chart_contact": {
        "kk": "Алғашқы байланысқа дейінгі уақыт, медиана, сағ",
        "ru": "Время до первого контакта, медиана, ч",
        "en": "Hours to first contact, median",
    },
    "dash_chart_trust": {
        "kk": "Сенім бағасы (сауалнама кезеңі бойынша)",
        "ru": "Оценка доверия (по периодам опроса)",
        "en": "Trust score per survey period",
    },
    "dash_chart_visits": {
        "kk": "Профилактикалық есептегілерге уақтылы барулар, %",
        "ru": "Посещения состоящих на профучёте вовремя, %",
        "en": "Preventive-register visits made on time, %",
    },
    "dash_table": {
        "kk": "Учаскелер бойынша өтініштерді өңдеу уақыты",
        "ru": "Время обработки обращений по участкам",
        "en": "Appeal processing time by precinct",
    },
    "dash_col_received": {"kk": "Түскені", "ru": "Поступило", "en": "Received"},
    "dash_col_closed": {"kk": "Жабылғаны", "ru": "Закрыто", "en": "Closed"},
    "dash_col_first_contact_median_h": {
        "kk": "Байланысқа дейін, медиана, сағ", "ru": "До контакта, медиана, ч", "en": "To contact, median, h"},
    "dash_col_first_contact_p90_h": {
        "kk": "Байланысқа дейін, 90%, сағ", "ru": "До контакта, 90%, ч", "en": "To contact, 90th pct, h"},
    "dash_col_close_median_h": {
        "kk": "Жабуға дейін, медиана, сағ", "ru": "До закрытия, медиана, ч", "en": "To closing, median, h"},
    "dash_col_visits_on_time": {
        "kk": "Уақтылы барулар, %", "ru": "Посещения вовремя, %", "en": "Visits on time, %"},
    "dash_col_close_p90_h": {
        "kk": "Жабуға дейін, 90%, сағ", "ru": "До закрытия, 90%, ч", "en": "To closing, 90th pct, h"},
    "dash_caveat": {
        "kk": "Учаске көрсеткіштері аз сандарға негізделген: айырмашылық кездейсоқ болуы мүмкін.",
        "ru": "Показатели участков основаны на малых числах: разница может быть случайной.",
        "en": "Precinct figures rest on small numbers: a difference may arise by chance.",
    },
    # -- public precinct page -----------------------------------------------------------------
    "public_page": {"kk": "Ашық бет", "ru": "Открытая страница", "en": "Public page"},
    "pub_provisional": {"kk": "Учаске шекаралары уақытша: олар полиция бекеттерінен есептелген, ресми емес.",
                        "ru": "Границы участка предварительные: рассчитаны по пунктам полиции, не официальные.",
                        "en": "The precinct boundary is provisional: derived from the police posts, not official."},
    "pub_directions": {"kk": "Бекетке жол", "ru": "Как добраться до пункта", "en": "Directions to the post"},
    "pub_no_address": {"kk": "Мекенжайы белгісіз: картадағы белгіні қараңыз.",
                       "ru": "Адрес неизвестен: смотрите отметку на карте.",
                       "en": "Address unknown: see the pin on the map."},
    "pub_kicker": {
        "kk": "Учаскелік инспектордың ашық есебі",
        "ru": "Открытый отчёт участкового инспектора",
        "en": "Open report of the district inspector",
    },
    "pub_inspectors": {"kk": "Учаскелік инспектор", "ru": "Участковый инспектор", "en": "District inspector"},
    "pub_figures": {"kk": "Өткен ай: {period}", "ru": "Прошлый месяц: {period}", "en": "Last month: {period}"},
    "fig_received": {"kk": "Өтініштер түсті", "ru": "Поступило обращений", "en": "Appeals received"},
    "fig_closed": {"kk": "Өтініштер жабылды", "ru": "Закрыто обращений", "en": "Appeals closed"},
    "fig_first_contact": {
        "kk": "Алғашқы байланысқа дейінгі уақыт (медиана)",
        "ru": "Время до первого контакта (медиана)",
        "en": "Time to first contact (median)",
    },
    "fig_visits": {"kk": "Профилактикалық барулар", "ru": "Профилактических посещений", "en": "Preventive visits made"},
    "hours": {"kk": "{value} сағ", "ru": "{value} ч", "en": "{value} h"},
    "pub_no_figures": {
        "kk": "Өткен айда өтініштер болған жоқ.",
        "ru": "В прошлом месяце обращений не было.",
        "en": "No appeals were received last month.",
    },
    "print": {"kk": "Басып шығару", "ru": "Распечатать", "en": "Print"},
    "pub_generated": {"kk": "Жасалған күні: {date}", "ru": "Сформировано: {date}", "en": "Generated: {date}"},
    "err_precinct_not_found": {
        "kk": "Мұндай учаске жоқ. Учаскелер картасынан өз учаскеңізді табыңыз.",
        "ru": "Такого участка нет. Найдите свой участок на карте участков.",
        "en": "There is no such precinct. Find yours on the precinct map.",
    },
    # -- error pages -------------------------------------------------------------------------
    "err_page_title": {"kk": "Бетті көрсету мүмкін емес", "ru": "Страницу не показать", "en": "Cannot show the page"},
    "err_link_expired": {
        "kk": "Сілтеменің мерзімі өтті. Жаңа сілтеме сұраңыз.",
        "ru": "Срок действия ссылки истёк. Запросите новую ссылку.",
        "en": "This link has expired. Ask for a new one.",
    },
    "err_link_renew": {
        "kk": "Жаңа сілтеме алу үшін: осы маршруттың жаңа сілтемесін жоспарлаушыдан сұраңыз "
              "(немесе өз кілтіңізбен жаңасын жасаңыз). Ескі сілтеме енді ашылмайды.",
        "ru": "Как получить новую: попросите у планировщика новую ссылку на этот маршрут "
              "(или создайте её своим ключом). Старая ссылка больше не откроется.",
        "en": "To renew it: ask the planner for a new link to this route "
              "(or make one with your own key). The old link will not open again.",
    },
    "err_link_invalid": {
        "kk": "Сілтеме жарамсыз. Ол толық көшірілгенін тексеріңіз.",
        "ru": "Ссылка недействительна. Проверьте, что она скопирована целиком.",
        "en": "This link is not valid. Check that it was copied whole.",
    },
    "err_forbidden": {
        "kk": "Бұл бетті көруге рұқсат жоқ: ол басқа инспекторға немесе учаскеге тиесілі.",
        "ru": "Нет доступа к этой странице: она относится к другому инспектору или участку.",
        "en": "You may not see this page: it belongs to another inspector or precinct.",
    },
    "err_page_not_found": {
        "kk": "Сұралған маршрут немесе нәтиже табылмады.",
        "ru": "Запрошенный маршрут или результат не найден.",
        "en": "The route or result asked for was not found.",
    },
}


def _merge(*tables: dict[str, dict[str, str]]) -> None:
    """Add each area's table to `STRINGS`; a key used twice is a bug (raised at import)."""
    for table in tables:
        repeated = STRINGS.keys() & table.keys()
        if repeated:
            msg = f"text keys defined twice: {', '.join(sorted(repeated))}"
            raise RuntimeError(msg)
        STRINGS.update(table)


_merge(strings_signin.STRINGS, strings_public.STRINGS, strings_planner.STRINGS, strings_maps.STRINGS)


def t(key: str, lang: str, /, **values: object) -> str:
    """The text ``key`` in ``lang`` (Russian when ``lang`` is unknown), placeholders filled.

    Raises
    ------
    KeyError
        Unknown ``key``: a missing translation is a bug, not a fallback.
    """
    texts = STRINGS[key]
    text = texts.get(lang, texts[DEFAULT_LANG])
    return text.format(**values) if values else text


def catalog(lang: str) -> dict[str, str]:
    """Every text in ``lang``, for the page script."""
    return {key: t(key, lang) for key in STRINGS}


def _parse_accept_language(header: str) -> list[str]:
    """Language tags of an ``Accept-Language`` header, best first (q=0 dropped)."""
    ranked: list[tuple[float, int, str]] = []
    for pos, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if tag and q > 0:
            ranked.append((-q, pos, tag.strip().lower()))
    return [tag for _, _, tag in sorted(ranked)]


def choose_lang(query: str | None, accept_language: str | None) -> str:
    """The page language: ``?lang=``, then ``Accept-Language``, then Russian.

    Parameters
    ----------
    query
        The ``lang`` query value (``kk``, ``ru`` or ``en``; an unknown value is ignored).
    accept_language
        The raw ``Accept-Language`` header; ``kk-KZ``, ``ru-RU`` and ``en-GB`` match
        their primary language, ``kz`` (a common mistake) means Kazakh.
    """
    if query:
        q = query.strip().lower()
        q = "kk" if q == "kz" else q
        if q in LANGS:
            return q
    for tag in _parse_accept_language(accept_language or ""):
        primary = tag.split("-")[0]
        primary = "kk" if primary == "kz" else primary
        if primary in LANGS:
            return primary
    return DEFAULT_LANG


_APPEAL_LABEL = re.compile(r"^appeal ([a-z][a-z0-9_]{1,39})$")


def stop_label(kind: str, label: str, lang: str) -> str:
    """A stop's name on a page in ``lang``: the service's own names (start, end, break,
    reception at the post, "appeal <category>") translated; the caller's labels as given."""
    if kind != "visit":
        return t(f"stop_{kind}", lang) if f"stop_{kind}" in catalog(lang) else (label or kind)
    m = _APPEAL_LABEL.match(label or "")
    if m:
        code = m.group(1)
        category = t(f"cat_{code}", lang) if f"cat_{code}" in catalog(lang) else code.replace("_", " ")
        return t("appeal_label", lang, category=category)
    return label or t("stop_visit", lang)


def visit_type(priority: Any, lang: str) -> str:
    """The visit's type (its priority class) in ``lang``; empty when unknown."""
    key = f"vtype_{priority}"
    return t(key, lang) if key in catalog(lang) else ""
