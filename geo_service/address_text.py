"""Text rules of the offline geocoder: Kazakh, Russian and Latin spellings onto one key.

* :func:`fold` maps Kazakh Cyrillic, Russian Cyrillic, the Kazakh 2021 Latin
  alphabet and informal Latin transliterations onto one Latin *skeleton*
  (``"Қабанбай"``, ``"Кабанбай"``, ``"Qabanbai"`` and ``"Kabanbay"`` all become
  ``"kabanbai"``) and strips street-type words in all three languages
  (ул., көшесі, str., пр-т, даңғылы, ave, мкр., шағын ауданы, ...).
* :func:`stem_key` drops Russian genitive endings of person names
  ("Абая" -> "абай", "Кабанбай батыра" -> "кабанбай батыр", "Кунаева" -> "кунаев");
  matching is done on these stems, so a stem only changes anything when the two
  sides differ by such an ending.
* :func:`normalize_house` gives one key for "29А", "29a", "29 а", "д. 29А";
  "48А к2" (корпус 2) -> ``"48ak2"``; "17-23" and "17/23" -> ``"17/23"``.
* :func:`parse_address` / :func:`hypotheses` split a query into street and house
  (:class:`ParsedAddress`); :class:`~geo_service.lookup.geocode.AddressIndex` matches them.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "MKR_PHRASES",
    "PAREN",
    "TYPE_CLASSES",
    "Hypothesis",
    "ParsedAddress",
    "fold",
    "has_phrase",
    "house_base",
    "hypotheses",
    "normalize_house",
    "parse_address",
    "stem_key",
    "tokens",
]

# --------------------------------------------------------------------------- folding

#: Cyrillic (Russian + Kazakh) letters -> Latin skeleton.
_CYR = {
    "а": "a", "ә": "a", "б": "b", "в": "v", "г": "g", "ғ": "g", "д": "d",
    "е": "e", "ё": "e", "ж": "j", "з": "z", "и": "i", "і": "i", "й": "i",
    "к": "k", "қ": "k", "л": "l", "м": "m", "н": "n", "ң": "n", "о": "o",
    "ө": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ұ": "u",
    "ү": "u", "ф": "f", "х": "h", "һ": "h", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "sh", "ъ": "", "ы": "i", "ь": "", "э": "e", "ю": "iu", "я": "ia",
}
#: Latin letters with diacritics whose plain-ASCII decomposition would be wrong.
_LAT = {"ş": "sh", "ç": "ch", "ı": "i", "ğ": "g", "ñ": "n", "ß": "ss", "æ": "ae", "ø": "o"}
_TRANSLATE = str.maketrans({**_CYR, **_LAT})

#: Latin spelling rules, applied in order until nothing changes.
_LATIN_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"dzh|zh|dj"), "j"),  # Жамбыл / Zhambyl / Jambyl / Джамбул / Dzhambul
    (re.compile(r"kh"), "h"),  # Ходжанов / Khodzhanov; Kazakh Һ, Х
    (re.compile(r"q"), "k"),  # Qabanbai
    (re.compile(r"w"), "v"),
    (re.compile(r"x"), "ks"),
    (re.compile(r"y"), "i"),  # Abay / Abai, ya / я, yu / ю, Zhetysu / Жетысу
    (re.compile(r"c(?!h)"), "ts"),  # ulica, Celinogradskaya
    (re.compile(r"([a-z])\1+"), r"\1"),  # Кассина / Kasina, Райымбек / Raimbek
)
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_LETTER_DIGIT = re.compile(r"(?<=[a-z])(?=[0-9])|(?<=[0-9])(?=[a-z])")
#: Russian ordinal endings after a number: "20-я линия" -> "20 линия".
#: English "5th", "21st"; Spanish/Portuguese/Catalan "5º", "1ª", "3.º": "5th Avenue" -> "5 Avenue".
_ORDINAL = re.compile(
    r"(\d)(?:\s*-?\s*(?:ая|ый|ий|ой|го|я|й)(?![а-яёәғқңөұүһі])|-(?:aya|ya|ia|yi|iy|ii|oy|oi|y|j)(?![a-z])"
    r"|(?:st|nd|rd|th)(?![a-z])|\.?[ºª°](?![a-z]))"
)

#: Street/place type words (raw spellings; folded at import).  Single tokens or phrases.
_TYPE_WORDS_RAW = (
    # Russian
    "ул", "ули", "улица", "пр", "прт", "прс", "пркт", "просп", "проспект", "пр-т", "пр-кт",
    "бульвар", "бул", "б-р", "переулок", "пер", "пер-к", "тупик", "туп", "шоссе", "ш",
    "трасса", "тракт", "проезд", "пр-д", "площадь", "пл", "аллея", "квартал", "кв-л",
    "мкр", "мкрн", "мкн", "мк", "мкр-н", "м-н", "микр", "микрорайон", "район", "р-н",
    "дом", "д", "корпус", "корп", "к", "им", "имени", "г", "город", "№",
    # Kazakh
    "көше", "көшесі", "көш", "даңғыл", "даңғылы", "даң", "шағын ауданы", "шағын аудан",
    "ш/а", "ықшам ауданы", "ықшамаудан", "ауданы", "аудан", "тұйық", "тұйығы",
    "бұрылыс", "қаласы", "қала", "үй",
    # Latin
    "str", "street", "st", "ul", "ulitsa", "ulica", "ave", "av", "avenue", "prospekt",
    "prospect", "prosp", "pr", "pr-t", "pr-kt", "blvd", "boulevard", "bulvar", "lane", "ln",
    "pereulok", "per", "road", "rd", "highway", "hwy", "shosse", "trassa", "tupik",
    "proezd", "mkr", "mkrn", "mkn", "microdistrict", "mikroraion", "mikrorayon", "md",
    "koshesi", "kosh", "dangyly", "dangyl", "shagyn audany", "sh/a", "district",
    "house", "no", "city", "g",
    # Spanish, Portuguese, Catalan, English (the other extracts' street words) and their short forms
    "calle", "c", "avenida", "avda", "calzada", "calz", "privada", "priv", "paseo", "boulevard", "bulevar",
    "blvd", "andador", "cerrada", "circuito", "prolongacion", "prol", "callejon", "plaza", "pza", "glorieta",
    "rua", "r", "travessa", "tv", "trav", "praca", "pc", "pca", "largo", "lg", "alameda", "al", "estrada",
    "estr", "beco", "viela", "rotunda", "caminho", "praceta", "cais",
    "carrer", "c/", "avinguda", "placa", "pl", "passeig", "pg", "carretera", "ctra", "cami", "cm",
    "travessia", "baixada", "pujada", "drive", "dr", "place", "court", "ct", "terrace", "way",
    # particles people leave out ("Carrer de la Vall" is written "Carrer Vall")
    "de", "del", "la", "las", "los", "el", "da", "das", "do", "dos", "d", "l", "les", "els", "dels", "of", "the",
    # city names people prepend
    "алматы", "алма-ата", "almaty", "alma-ata", "астана", "astana", "казахстан", "қазақстан",
    "kazakhstan", "рк",
)
#: Words that make an address a microdistrict one.
_MKR_WORDS_RAW = (
    "мкр", "мкрн", "мкн", "мкр-н", "м-н", "микр", "микрорайон", "шағын ауданы", "шағын аудан",
    "ш/а", "ықшам ауданы", "ықшамаудан", "mkr", "mkrn", "mkn", "microdistrict",
    "mikroraion", "mikrorayon", "md", "shagyn audany", "sh/a",
)
#: Marks a phrase as the house number part: "д. 5", "дом 5", "№ 5", "house 5".
_HOUSE_MARK = r"(?:д|дом|house|h|№|no|n|үй)\.?\s*"
_HL = "a-zа-яёәғқңөұүһі"  # letters allowed as a house-number suffix
_KORP = r"(?:корпус|корп|кор|к|блок|стр|строение|korpus|korp|k|block|bld)"
#: After a number or its letter: no further letter or digit, unless a building part follows
#: ("48ак2", "5k1": the compact forms people type, and the keys this module makes).
_HOUSE_END = rf"(?!(?!{_KORP}\.?\s*\d)[{_HL}\d])"
#: "bis"/"ter" (Spanish, Portuguese, Catalan, French) act as a house letter: "20 bis".
_BIS = r"(?:bis|ter|quater)(?![a-z])"
_HOUSE_CORE = (
    rf"(?P<num>\d{{1,5}})\s*[\"'«“-]?\s*(?:(?P<let>{_BIS}|[{_HL}]){_HOUSE_END})?{_HOUSE_END}[\"'»”]?"
    rf"(?:\s*[/\\-]\s*(?P<num2>\d{{1,5}})\s*(?:(?P<let2>[{_HL}]){_HOUSE_END})?{_HOUSE_END})?"
    rf"(?:\s*,?\s*{_KORP}\.?\s*"
    rf"(?P<korp>\d{{1,3}}))?"
)
_HOUSE_HEAD = re.compile(rf"^\s*(?:{_HOUSE_MARK})?{_HOUSE_CORE}", re.IGNORECASE)
_HOUSE_TAIL = re.compile(
    rf"(?:^|(?<=[\s,;]))(?P<mark>{_HOUSE_MARK})?(?P<house>{_HOUSE_CORE})"
    rf"(?:\s*(?:үй|уй|үйі))?\s*[.,;]?\s*$",
    re.IGNORECASE,
)
#: A house number written first ("150 Abay ave", "501 5th Avenue", "12 Абай даңғылы"): the rest names a street.
_HOUSE_LEAD = re.compile(rf"^\s*(?P<mark>{_HOUSE_MARK})?(?P<house>{_HOUSE_CORE})\s*,?\s+(?=.*[^\W\d_])", re.IGNORECASE)
#: A trailing part after a comma with no digit: a city or district ("Rua Formosa 34, Porto").
_LOCALITY_TAIL = re.compile(r",[^,\d]*$")
#: Apartment / office parts, dropped from queries: "кв. 12", "оф 5", "пәтер 3".
_APARTMENT = re.compile(
    r"(?:^|(?<=[\s,;]))(?:кв|квартира|пәтер|apt|apto|apartment|flat|оф|офис|office|suite|local|loja|piso|"
    r"planta|porta|puerta|dpto|depto|int|interior)\.?\s*\d+\s*[a-zа-я]?(?![\w])",
    re.IGNORECASE,
)
#: A bracketed part of a name or query: "пр. Достык (Ленина)".
PAREN = re.compile(r"\(([^()]*)\)")


def _fold_letters(text: str) -> str:
    """Lowercase and transliterate ``text`` to the Latin skeleton (no word stripping)."""
    s = unicodedata.normalize("NFC", text).lower().replace("ё", "е")
    s = _ORDINAL.sub(r"\1", s)
    s = s.translate(_TRANSLATE)
    # ä, ö, ü, ū, é, İ (-> i + dot) ...: drop the combining marks.
    s = "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))
    s = _NON_ALNUM.sub(" ", s)
    for _ in range(4):
        before = s
        for pattern, repl in _LATIN_RULES:
            s = pattern.sub(repl, s)
        if s == before:
            break
    s = _LETTER_DIGIT.sub(" ", s)
    return s


def tokens(text: str) -> list[str]:
    """The folded Latin-skeleton tokens of ``text``, type words kept ("ул. Абая" -> ["ul", "abaia"])."""
    return _fold_letters(text).split()


def _phrase_set(words: Iterable[str]) -> frozenset[tuple[str, ...]]:
    return frozenset(t for t in (tuple(tokens(w)) for w in words) if t)


_TYPE_PHRASES = _phrase_set(_TYPE_WORDS_RAW)
#: Kinds of street whose spellings are one: a street named only by a number keeps its kind.
TYPE_CLASSES = {
    "street": ("ул", "ули", "улица", "көше", "көшесі", "көш", "str", "street", "st", "ul", "ulitsa", "ulica",
               "calle", "c", "rua", "r", "carrer", "c/", "koshesi", "kosh"),
    "avenue": ("пр", "прт", "прс", "пркт", "просп", "проспект", "пр-т", "пр-кт", "даңғыл", "даңғылы", "даң",
               "ave", "av", "avenue", "prospekt", "prospect", "prosp", "pr-t", "pr-kt", "avenida", "avda",
               "avinguda", "dangyly", "dangyl"),
    "lane": ("переулок", "пер", "пер-к", "тупик", "туп", "тұйық", "тұйығы", "lane", "ln", "pereulok", "per",
             "tupik", "travessa", "tv", "trav", "cerrada", "privada", "priv", "callejon", "beco"),
    "mkr": ("мкр", "мкрн", "мкн", "мк", "мкр-н", "м-н", "микр", "микрорайон", "шағын ауданы", "шағын аудан",
            "ш/а", "ықшам ауданы", "ықшамаудан", "mkr", "mkrn", "mkn", "microdistrict", "mikroraion",
            "mikrorayon", "md", "shagyn audany", "sh/a", "квартал", "кв-л"),
    "road": ("шоссе", "ш", "трасса", "тракт", "road", "rd", "highway", "hwy", "shosse", "trassa", "carretera",
             "ctra", "estrada", "estr", "calzada", "calz"),
    "square": ("площадь", "пл", "plaza", "pza", "praca", "pc", "pca", "placa", "pl", "place", "largo", "lg"),
    "boulevard": ("бульвар", "бул", "б-р", "blvd", "boulevard", "bulvar", "bulevar", "paseo", "passeig", "pg"),
}
_CLASS_OF = {p: _fold_letters(kind).strip() for kind, words in TYPE_CLASSES.items() for p in _phrase_set(words)}
#: The folded microdistrict words (token tuples), for :func:`has_phrase`.
MKR_PHRASES = _phrase_set(_MKR_WORDS_RAW)
_MAX_PHRASE = max(len(p) for p in _TYPE_PHRASES)


def _strip_phrases(tokens: list[str], phrases: frozenset[tuple[str, ...]]) -> tuple[list[str], str]:
    """Remove ``phrases`` (longest first) from both ends of ``tokens``.

    Only the ends, and at most one street kind per end: a type word inside a name is part of
    it ("Travessa da Rua Chã" is not "Rua Chã"). Returns the rest and the kind (`TYPE_CLASSES`)
    of the first kind word removed ("" when none).
    """
    kinds: list[str] = []
    lo, hi = 0, len(tokens)

    def take(at_start: bool) -> bool:
        nonlocal lo, hi
        seen = 0
        for n in range(min(_MAX_PHRASE, hi - lo), 0, -1):
            phrase = tuple(tokens[lo : lo + n]) if at_start else tuple(tokens[hi - n : hi])
            if phrase in phrases:
                kind = _CLASS_OF.get(phrase, "")
                if kind and (kinds_at[at_start] >= 1):
                    return False
                kinds_at[at_start] += bool(kind)
                if kind:
                    kinds.append(kind)
                lo, hi = (lo + n, hi) if at_start else (lo, hi - n)
                seen = 1
                break
        return bool(seen)

    kinds_at = {True: 0, False: 0}
    while lo < hi and take(True):
        pass
    while lo < hi and take(False):
        pass
    return tokens[lo:hi], (kinds[0] if kinds else "")


def has_phrase(tokens: list[str], phrases: frozenset[tuple[str, ...]]) -> bool:
    """Whether any of ``phrases`` (token tuples) occurs in ``tokens``."""
    return any(
        tuple(tokens[i : i + n]) in phrases
        for i in range(len(tokens))
        for n in range(1, min(_MAX_PHRASE, len(tokens) - i) + 1)
    )


def fold(text: str) -> str:
    """Fold a street or place name to its canonical key.

    Parameters
    ----------
    text : str
        A street, place or microdistrict name in Kazakh, Russian or Latin script,
        with or without type words ("ул.", "көшесі", "ave", "мкр." ...).

    Returns
    -------
    str
        Space-separated lowercase Latin-skeleton tokens with type words removed
        (``""`` for text without letters or digits).  If the text is *only* type
        words (e.g. "Проспект"), they are kept.  ``fold(fold(x)) == fold(x)``.

    Examples
    --------
    >>> fold("Қабанбай батыр көшесі"), fold("Qabanbai batyr"), fold("ул. Kabanbay Batyr")
    ('kabanbai batir', 'kabanbai batir', 'kabanbai batir')
    >>> fold("Абай даңғылы"), fold("Abay ave"), fold("пр-т Абая")
    ('abai', 'abai', 'abaia')
    """
    if not isinstance(text, str) or not text:
        return ""
    toks = tokens(text)
    stripped, kind = _strip_phrases(toks, _TYPE_PHRASES)
    if stripped and kind and all(t.isdigit() for t in stripped):
        # A street named by a number keeps its kind: "5th Avenue" is not "5th Street".
        stripped = [*stripped, kind]
    return " ".join(stripped or toks)


_VOWELS = frozenset("aeiou")


def _stem_token(tok: str) -> str:
    if len(tok) < 4 or not tok.isalpha():
        return tok
    if tok.endswith(("ovoi", "evoi", "inoi")):  # Макатаевой -> Макатаев
        return tok[:-2]
    if tok.endswith("skogo"):  # Брусиловского -> Брусиловский
        return tok[:-5] + "ski"
    if tok.endswith("ia") and tok[-3] in _VOWELS:  # Абая -> Абай (й + а)
        return tok[:-1]
    if tok[-1] == "a" and tok[-2] not in _VOWELS:  # Кунаева -> Кунаев, батыра -> батыр
        return tok[:-1]
    return tok


def stem_key(key: str) -> str:
    """Drop Russian genitive endings from every token of a folded key.

    Parameters
    ----------
    key : str
        Output of :func:`fold`.

    Returns
    -------
    str
        The key with a trailing genitive "а"/"я" after a consonant or "й" dropped
        ("abaia" -> "abai", "batira" -> "batir") and "-овой"/"-ского" reduced.
        Applied to both sides of a comparison, so it only matters when they differ.
    """
    return " ".join(_stem_token(t) for t in key.split())


def _house_letter(ch: str | None) -> str:
    if not ch:
        return ""
    folded = _fold_letters(ch).strip()
    return folded if folded in ("bis", "ter", "kuater") else folded[:1]


def _house_key_from_match(m: re.Match[str]) -> str:
    key = str(int(m.group("num"))) + _house_letter(m.group("let"))
    if m.group("num2"):
        key += "/" + str(int(m.group("num2"))) + _house_letter(m.group("let2"))
    if m.group("korp"):
        key += "k" + str(int(m.group("korp")))
    return key


@functools.lru_cache(maxsize=1 << 16)
def normalize_house(raw: str) -> str:
    """Normalise a house number to a comparison key.

    Parameters
    ----------
    raw : str
        House number as typed or as in OSM: "29А", "29 а", "д.150", "13/1",
        "48А к2", "17-23", '52 "Б"'.

    Returns
    -------
    str
        ``"29a"``, ``"29a"``, ``"150"``, ``"13/1"``, ``"48ak2"``, ``"17/23"``,
        ``"52b"``; ``""`` when ``raw`` holds no house number.
    """
    if not isinstance(raw, str):
        return ""
    m = _HOUSE_HEAD.match(raw)
    return _house_key_from_match(m) if m else ""


def house_base(key: str) -> str:
    """The leading number of a house key ("150a/2k1" -> "150")."""
    m = re.match(r"\d+", key)
    return m.group(0) if m else ""


# --------------------------------------------------------------------------- parsing


@dataclass(frozen=True)
class ParsedAddress:
    """An address query split into street and house.

    Attributes
    ----------
    street_text : str
        The street / microdistrict part as typed (apartment and house removed).
    street_key : str
        ``fold(street_text)``.
    house : str or None
        The house part as typed, ``None`` when no house number was found.
    house_key : str or None
        ``normalize_house(house)``.
    is_microdistrict : bool
        The text names a microdistrict (мкр., мкн, шағын ауданы, ш/а, mkr ...).
    """

    street_text: str
    street_key: str
    house: str | None
    house_key: str | None
    is_microdistrict: bool


@dataclass(frozen=True)
class Hypothesis:
    """One reading of a query and the score penalty of reading it that way."""

    parsed: ParsedAddress
    penalty: float


_MAX_QUERY_CHARS = 300


#: Postal codes: Kazakhstan's six digits, Portugal's 4050-618 (never a house number).
_POSTCODE = re.compile(r"(?<![\w-])(?:\d{6}|\d{4}-\d{3})(?![\w-])")


def _clean_query(text: str) -> str:
    s = unicodedata.normalize("NFC", text)[:_MAX_QUERY_CHARS]
    s = _POSTCODE.sub(" ", _APARTMENT.sub(" ", PAREN.sub(" ", s)))
    s = re.sub(r"(?:\s*,\s*)+", ", ", s)
    return re.sub(r"\s+", " ", s).strip(" \t,;.")


def _make_parsed(street_text: str, house: str | None) -> ParsedAddress:
    street_text = street_text.strip(" \t,;")
    toks = tokens(street_text)
    hk = normalize_house(house) if house else None
    return ParsedAddress(
        street_text=street_text,
        street_key=fold(street_text),
        house=house.strip() if house else None,
        house_key=hk or None,
        is_microdistrict=has_phrase(toks, MKR_PHRASES),
    )


def hypotheses(text: str) -> list[Hypothesis]:
    """All readings of ``text`` worth trying, best guess first."""
    if not isinstance(text, str):
        return []
    s = _clean_query(text)
    if not s:
        return []
    out = _readings(s, 0.0)
    rest = s
    while _LOCALITY_TAIL.search(rest) and any(c.isdigit() for c in rest):  # "..., Porto", "..., Алматы"
        rest = _LOCALITY_TAIL.sub("", rest).strip(" \t,;.")
        if rest:
            out += _readings(rest, 1.0)
    return [h for h in out if _usable_key(h.parsed.street_key)]


def _readings(s: str, penalty: float) -> list[Hypothesis]:
    """Street and house readings of a cleaned query: house last, house first, no house."""
    out: list[Hypothesis] = []
    tail = _HOUSE_TAIL.search(s)
    lead = _HOUSE_LEAD.match(s)
    if tail and tail.start() > 0:
        street = s[: tail.start()]
        explicit = bool(tail.group("mark")) or street.rstrip().endswith((",", ";"))
        out.append(Hypothesis(_make_parsed(street, tail.group("house")), penalty))
        if not explicit:  # "Самал 2": microdistrict number, or house 2?
            out.append(Hypothesis(_make_parsed(s, None), penalty + 5.0))
    else:
        out.append(Hypothesis(_make_parsed(s, None), penalty))
    if lead and lead.end() < len(s):  # "150 Abay ave", "4 Carretera General 3"
        out.append(Hypothesis(_make_parsed(s[lead.end() :], lead.group("house")), penalty + 3.0))
    return out


def _usable_key(key: str) -> bool:
    """A key worth matching: a number, or at least 3 letters ("z", "ab" match anything)."""
    compact = key.replace(" ", "")
    return any(c.isdigit() for c in compact) or len(compact) >= 3


def parse_address(text: str) -> ParsedAddress:
    """Split an address query into street and house number.

    Parameters
    ----------
    text : str
        Free text such as "пр. Абая, 150", "Нұрсая шағын ауданы 109А",
        "мкр Самал 2 д 58" or "Qabanbai batyr 32/1".

    Returns
    -------
    ParsedAddress
        The most likely reading.  For junk or empty text all fields are empty
        (``street_key == ""``, ``house is None``).
    """
    hyps = hypotheses(text)
    if hyps:
        return hyps[0].parsed
    return ParsedAddress("", "", None, None, False)
