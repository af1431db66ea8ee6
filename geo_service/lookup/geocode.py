"""Offline address geocoder for Kazakh cities.

Turns what an inspector types ("пр. Абая, 150", "Абай даңғылы 150",
"Qabanbai batyr 32/1", "мкр Самал 2 д 58") into coordinates, using only the
address points and street names of the city bundle.

How it works
------------
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
* :class:`AddressIndex` groups every spelling of a street (the ``addr:street``
  values of the addresses, the ``name`` / ``name_kk`` / ``name_ru`` aliases of the
  road table, which are linked together, and ``old_name`` / bracketed names as
  weaker aliases) and keeps a dict of house keys per group.  A query is scored
  against all distinct street stems with one C-level :func:`rapidfuzz.process.cdist`
  call, then houses are looked up in dicts.

The ``match`` field of a :class:`Candidate` says how precise it is:

``"house"``
    an address point of the data (found on a street or in a microdistrict);
``"street"``
    the middle of a street: the house is unknown or was not given;
``"place"``
    the middle of a microdistrict (``addr:place`` or an ``мкр``-style street)
    when the house is unknown or was not given.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
import unicodedata
from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

from geo_service.errors import InputError

logger = logging.getLogger(__name__)

__all__ = [
    "AddressIndex",
    "Candidate",
    "ParsedAddress",
    "fold",
    "normalize_house",
    "parse_address",
    "stem_key",
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
_ORDINAL = re.compile(
    r"(\d)(?:\s*-?\s*(?:ая|ый|ий|ой|го|я|й)(?![а-яёәғқңөұүһі])|-(?:aya|ya|ia|yi|iy|ii|oy|oi|y|j)(?![a-z]))"
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
_HOUSE_CORE = (
    rf"(?P<num>\d{{1,5}})\s*[\"'«“]?\s*(?:(?P<let>[{_HL}]){_HOUSE_END})?{_HOUSE_END}[\"'»”]?"
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
_HOUSE_LEAD = re.compile(rf"^\s*(?P<mark>{_HOUSE_MARK})?(?P<house>{_HOUSE_CORE})\s*,?\s+(?=\D)", re.IGNORECASE)
#: Apartment / office parts, dropped from queries: "кв. 12", "оф 5", "пәтер 3".
_APARTMENT = re.compile(
    r"(?:^|(?<=[\s,;]))(?:кв|квартира|пәтер|apt|apartment|flat|оф|офис|office)\.?\s*\d+\s*[a-zа-я]?(?![\w])",
    re.IGNORECASE,
)
_PAREN = re.compile(r"\(([^()]*)\)")


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


def _tokens(text: str) -> list[str]:
    return _fold_letters(text).split()


def _phrase_set(words: Iterable[str]) -> frozenset[tuple[str, ...]]:
    return frozenset(t for t in (tuple(_tokens(w)) for w in words) if t)


_TYPE_PHRASES = _phrase_set(_TYPE_WORDS_RAW)
_MKR_PHRASES = _phrase_set(_MKR_WORDS_RAW)
_MAX_PHRASE = max(len(p) for p in _TYPE_PHRASES)


def _strip_phrases(tokens: list[str], phrases: frozenset[tuple[str, ...]]) -> list[str]:
    """Remove every occurrence of ``phrases`` (longest first), until none is left."""
    while True:
        out: list[str] = []
        i = 0
        while i < len(tokens):
            for n in range(min(_MAX_PHRASE, len(tokens) - i), 0, -1):
                if tuple(tokens[i : i + n]) in phrases:
                    i += n
                    break
            else:
                out.append(tokens[i])
                i += 1
        if len(out) == len(tokens):
            return out
        tokens = out


def _has_phrase(tokens: list[str], phrases: frozenset[tuple[str, ...]]) -> bool:
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
    tokens = _tokens(text)
    stripped = _strip_phrases(tokens, _TYPE_PHRASES)
    return " ".join(stripped or tokens)


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
    return folded[:1]


def _house_key_from_match(m: re.Match[str]) -> str:
    key = str(int(m.group("num"))) + _house_letter(m.group("let"))
    if m.group("num2"):
        key += "/" + str(int(m.group("num2"))) + _house_letter(m.group("let2"))
    if m.group("korp"):
        key += "k" + str(int(m.group("korp")))
    return key


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


def _house_base(key: str) -> str:
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
class _Hypothesis:
    parsed: ParsedAddress
    penalty: float


_MAX_QUERY_CHARS = 300


def _clean_query(text: str) -> str:
    s = unicodedata.normalize("NFC", text)[:_MAX_QUERY_CHARS]
    s = _APARTMENT.sub(" ", _PAREN.sub(" ", s))
    return re.sub(r"\s+", " ", s).strip(" \t,;.")


def _make_parsed(street_text: str, house: str | None) -> ParsedAddress:
    street_text = street_text.strip(" \t,;")
    tokens = _tokens(street_text)
    hk = normalize_house(house) if house else None
    return ParsedAddress(
        street_text=street_text,
        street_key=fold(street_text),
        house=house.strip() if house else None,
        house_key=hk or None,
        is_microdistrict=_has_phrase(tokens, _MKR_PHRASES),
    )


def _hypotheses(text: str) -> list[_Hypothesis]:
    """All readings of ``text`` worth trying, best guess first."""
    if not isinstance(text, str):
        return []
    s = _clean_query(text)
    if not s:
        return []
    out: list[_Hypothesis] = []
    tail = _HOUSE_TAIL.search(s)
    if tail and tail.start() > 0:
        street = s[: tail.start()]
        explicit = bool(tail.group("mark")) or street.rstrip().endswith((",", ";"))
        out.append(_Hypothesis(_make_parsed(street, tail.group("house")), 0.0))
        if not explicit:  # "Самал 2": microdistrict number, or house 2?
            out.append(_Hypothesis(_make_parsed(s, None), 5.0))
    else:
        out.append(_Hypothesis(_make_parsed(s, None), 0.0))
        lead = _HOUSE_LEAD.match(s)
        if lead and lead.end() < len(s):  # "150 Abay ave"
            out.append(_Hypothesis(_make_parsed(s[lead.end() :], lead.group("house")), 3.0))
    return [h for h in out if _usable_key(h.parsed.street_key)]


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
    hyps = _hypotheses(text)
    if hyps:
        return hyps[0].parsed
    return ParsedAddress("", "", None, None, False)


# --------------------------------------------------------------------------- index


@dataclass(frozen=True)
class Candidate:
    """One geocoding result.

    Attributes
    ----------
    lat, lon : float
        WGS84 coordinates.
    score : float
        0-100; higher is better.
    match : str
        ``"house"`` (an address point), ``"street"`` (middle of the street, the
        house is unknown) or ``"place"`` (middle of a microdistrict).
    street : str
        The street or place name as the data spells it.
    housenumber : str or None
        The house number as the data spells it (``None`` unless ``match == "house"``).
    addr_id : int or None
        ``addr_id`` of the address row (``None`` unless ``match == "house"``).
    """

    lat: float
    lon: float
    score: float
    match: str
    street: str
    housenumber: str | None
    addr_id: int | None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict of the fields."""
        return dataclasses.asdict(self)


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _split_name(raw: str) -> tuple[list[str], list[str]]:
    """Main spellings and secondary spellings of a raw name.

    "пр. Достык (Ленина)" -> (["пр. Достык"], ["Ленина"]);
    "ул. Джандосова;ул.Джандосова" -> (["ул. Джандосова", "ул.Джандосова"], []).
    """
    main: list[str] = []
    extra: list[str] = []
    for part in str(raw).split(";"):
        extra.extend(p for p in _PAREN.findall(part) if p.strip())
        outer = _PAREN.sub(" ", part).strip()
        if outer:
            main.append(outer)
    return main, extra


_ADDR_COLUMNS = ("addr_id", "street", "place", "housenumber", "lat", "lon")
_STREET_COLUMNS = ("name", "name_kk", "name_ru", "old_name", "lat", "lon")
_ALIAS_PENALTY = 3.0  # old_name / bracketed names
_MKR_MISMATCH = 3.0  # query says мкр but the group is an ordinary street
_HOUSE_BASE_PENALTY = 10.0  # "150" asked, only "150а" known (or the other way round)
_NO_HOUSE_PENALTY = 20.0  # house asked but unknown: the street's middle
_MIN_STREET_SCORE = 70.0
_MIN_SCORE = 50.0
_WINDOW = 30.0  # drop candidates this far below the best one
_TOP_STEMS = 25
_DIGIT_MISMATCH = 25.0  # both keys have numbers, different ones
_DIGIT_MISSING = 10.0  # one key has numbers the other lacks
_NAME_MISSING = 20.0  # the query has a name, the key is only a number ("мкн 5")
_PARTIAL_BONUS = 15.0  # WRatio's substring match may add at most this to whole-word scores


def _text_column(frame: pd.DataFrame, col: str) -> list[str]:
    if col not in frame.columns:
        return [""] * len(frame)
    return ["" if not isinstance(v, str) else v.strip() for v in frame[col].tolist()]


class AddressIndex:
    """Fuzzy address index over a city's address points and street names.

    Build with :meth:`from_frames`; query with :meth:`search`.
    """

    def __init__(
        self,
        *,
        addr_id: np.ndarray,
        lat: np.ndarray,
        lon: np.ndarray,
        addr_street: list[str],
        housenumber: list[str],
        stems: list[str],
        stem_groups: list[list[tuple[int, float, int]]],
        group_houses: list[dict[str, list[int]]],
        group_bases: list[dict[str, list[int]]],
        group_is_mkr: list[bool],
        group_centers: list[list[tuple[float, float, str]]],
        row_points: list[tuple[float, float, str, float]],
    ) -> None:
        self._addr_id = addr_id
        self._lat = lat
        self._lon = lon
        self._addr_street = addr_street
        self._housenumber = housenumber
        self._stems = stems
        self._stem_shapes = [_shape(k) for k in stems]
        self._stem_groups = stem_groups  # stem -> [(group, penalty, street row or -1)]
        self._group_houses = group_houses
        self._group_bases = group_bases
        self._group_is_mkr = group_is_mkr
        self._group_centers = group_centers  # fallback points derived from addresses
        self._row_points = row_points  # streets table rows: (lat, lon, name, length_m)

    # ------------------------------------------------------------------ building
    @classmethod
    def from_frames(cls, addresses: pd.DataFrame, streets: pd.DataFrame | None = None) -> AddressIndex:
        """Build the index from the city bundle's frames.

        Parameters
        ----------
        addresses : pandas.DataFrame
            Columns ``addr_id, street, place, housenumber, lat, lon``.
        streets : pandas.DataFrame, optional
            Columns ``name, name_kk, name_ru, old_name, lat, lon`` (``length_m``
            is not needed); one row per named street of the road graph.

        Returns
        -------
        AddressIndex

        Raises
        ------
        InputError
            A required column is missing.
        """
        t0 = time.perf_counter()
        missing = [c for c in _ADDR_COLUMNS if c not in addresses.columns]
        if streets is None:
            streets = pd.DataFrame(columns=list(_STREET_COLUMNS))
        missing += [f"streets.{c}" for c in ("name", "lat", "lon") if c not in streets.columns]
        if missing:
            raise InputError(
                "The address table of the city bundle is incomplete.",
                detail=f"missing columns: {', '.join(missing)}",
            )

        uf = _UnionFind()
        # (stem, owner stem for the group, penalty, street row or -1, is_mkr)
        aliases: list[tuple[str, str, float, int, bool]] = []
        memo: dict[str, tuple[list[tuple[str, bool]], list[tuple[str, bool]]]] = {}

        def keys_of(raw: str) -> tuple[list[tuple[str, bool]], list[tuple[str, bool]]]:
            if raw not in memo:
                main, extra = _split_name(raw)

                def conv(parts: list[str]) -> list[tuple[str, bool]]:
                    res = []
                    for p in parts:
                        k = stem_key(fold(p))
                        if len(k.replace(" ", "")) >= 2 or k.isdigit():  # not junk like "с"
                            res.append((k, _has_phrase(_tokens(p), _MKR_PHRASES)))
                    return res

                memo[raw] = (conv(main), conv(extra))
            return memo[raw]

        # Streets table: name / name_kk / name_ru are one street; old_name is weaker.
        s_names = _text_column(streets, "name")
        s_kk = _text_column(streets, "name_kk")
        s_ru = _text_column(streets, "name_ru")
        s_old = _text_column(streets, "old_name")
        s_lat = pd.to_numeric(streets["lat"], errors="coerce").to_numpy(dtype=float)
        s_lon = pd.to_numeric(streets["lon"], errors="coerce").to_numpy(dtype=float)
        s_len = (
            pd.to_numeric(streets["length_m"], errors="coerce").fillna(0.0).to_numpy(dtype=float)
            if "length_m" in streets.columns
            else np.zeros(len(streets))
        )
        row_points: list[tuple[float, float, str, float]] = []
        for r in range(len(streets)):
            display = s_names[r] or s_ru[r] or s_kk[r] or s_old[r]
            row_points.append((float(s_lat[r]), float(s_lon[r]), display, float(s_len[r])))
            if not (np.isfinite(s_lat[r]) and np.isfinite(s_lon[r])):
                continue
            mains: list[tuple[str, bool]] = []
            extras: list[tuple[str, bool]] = []
            for raw in (s_names[r], s_kk[r], s_ru[r]):
                if raw:
                    m, e = keys_of(raw)
                    mains += m
                    extras += e
            if s_old[r]:
                m, e = keys_of(s_old[r])
                extras += m + e
            if not mains:
                if not extras:
                    continue
                mains, extras = extras[:1], extras[1:]
            owner = mains[0][0]
            for k, _ in mains:
                uf.union(owner, k)
            is_mkr = any(f for _, f in mains)
            for k, f in mains:
                aliases.append((k, owner, 0.0, r, is_mkr or f))
            for k, f in extras:
                aliases.append((k, owner, _ALIAS_PENALTY, r, is_mkr or f))

        # Addresses: every addr:street / addr:place spelling is an alias of its group.
        a_street = _text_column(addresses, "street")
        a_place = _text_column(addresses, "place")
        a_house = _text_column(addresses, "housenumber")
        a_lat = pd.to_numeric(addresses["lat"], errors="coerce").to_numpy(dtype=float)
        a_lon = pd.to_numeric(addresses["lon"], errors="coerce").to_numpy(dtype=float)
        a_id = addresses["addr_id"].to_numpy()
        addr_groups: list[list[str]] = []
        seen_alias: set[tuple[str, str, bool]] = set()
        for i in range(len(addresses)):
            owners: list[str] = []
            for raw, is_place in ((a_street[i], False), (a_place[i], True)):
                if not raw:
                    continue
                mains, extras = keys_of(raw)
                if not mains:
                    mains, extras = extras[:1], extras[1:]
                if not mains:
                    continue
                owner = mains[0][0]
                for k, _ in mains:
                    uf.union(owner, k)
                owners.append(owner)
                for k, f in mains:
                    if (k, owner, True) not in seen_alias:
                        seen_alias.add((k, owner, True))
                        aliases.append((k, owner, 0.0, -1, f or is_place))
                for k, f in extras:
                    if (k, owner, False) not in seen_alias:
                        seen_alias.add((k, owner, False))
                        aliases.append((k, owner, _ALIAS_PENALTY, -1, f or is_place))
            addr_groups.append(owners)

        # Number the groups (union-find roots).
        group_of: dict[str, int] = {}

        def gid(stem: str) -> int:
            root = uf.find(stem)
            if root not in group_of:
                group_of[root] = len(group_of)
            return group_of[root]

        alias_gids = [gid(owner) for _, owner, _, _, _ in aliases]
        n_groups = len(group_of)
        group_is_mkr = [False] * n_groups
        for (_, _, _, _, f), g in zip(aliases, alias_gids):
            group_is_mkr[g] = group_is_mkr[g] or f

        # Houses per group.
        group_houses: list[dict[str, list[int]]] = [{} for _ in range(n_groups)]
        group_bases: list[dict[str, list[int]]] = [{} for _ in range(n_groups)]
        group_members: list[list[int]] = [[] for _ in range(n_groups)]
        valid = np.isfinite(a_lat) & np.isfinite(a_lon)
        for i, owners in enumerate(addr_groups):
            if not valid[i]:
                continue
            hkeys = {normalize_house(part) for part in re.split(r"[,;]", a_house[i])} - {""}
            for g in {gid(o) for o in owners}:
                group_members[g].append(i)
                for hk in hkeys:
                    group_houses[g].setdefault(hk, []).append(i)
                    group_bases[g].setdefault(_house_base(hk), []).append(i)

        # Fallback point of groups without a road: the address nearest their median.
        rows_of_group: list[set[int]] = [set() for _ in range(n_groups)]
        for (_, _, _, row, _), g in zip(aliases, alias_gids):
            if row >= 0:
                rows_of_group[g].add(row)
        group_centers: list[list[tuple[float, float, str]]] = [[] for _ in range(n_groups)]
        for g, members in enumerate(group_members):
            if rows_of_group[g] or not members:
                continue
            idx = np.asarray(members)
            mlat, mlon = np.median(a_lat[idx]), np.median(a_lon[idx])
            best = int(idx[np.argmin((a_lat[idx] - mlat) ** 2 + (a_lon[idx] - mlon) ** 2)])
            group_centers[g].append(
                (float(a_lat[best]), float(a_lon[best]), a_street[best] or a_place[best])
            )

        # Distinct stems -> (group, penalty, row).
        stem_pos: dict[str, int] = {}
        stem_groups: list[list[tuple[int, float, int]]] = []
        for (k, _, pen, row, _), g in zip(aliases, alias_gids):
            if k not in stem_pos:
                stem_pos[k] = len(stem_groups)
                stem_groups.append([])
            entry = (g, pen, row)
            if entry not in stem_groups[stem_pos[k]]:
                stem_groups[stem_pos[k]].append(entry)

        index = cls(
            addr_id=a_id,
            lat=a_lat,
            lon=a_lon,
            addr_street=[a_street[i] or a_place[i] for i in range(len(a_street))],
            housenumber=a_house,
            stems=list(stem_pos),
            stem_groups=stem_groups,
            group_houses=group_houses,
            group_bases=group_bases,
            group_is_mkr=group_is_mkr,
            group_centers=group_centers,
            row_points=row_points,
        )
        logger.info(
            "address index: %d addresses, %d street rows, %d groups, %d distinct keys in %.3f s",
            len(addresses), len(streets), n_groups, len(stem_pos), time.perf_counter() - t0,
        )
        return index

    # ------------------------------------------------------------------ info
    @property
    def n_addresses(self) -> int:
        """Number of address rows indexed."""
        return len(self._addr_id)

    @property
    def n_keys(self) -> int:
        """Number of distinct folded street/place keys."""
        return len(self._stems)

    # ------------------------------------------------------------------ search
    def _street_scores(self, stem: str) -> list[tuple[int, float]]:
        """(stem index, similarity) of the best-matching street keys."""
        if not self._stems:
            return []
        scores = process.cdist(
            [stem], self._stems, scorer=fuzz.WRatio, score_cutoff=_MIN_STREET_SCORE - 1, workers=1
        )[0]
        hits = np.flatnonzero(scores)
        q_digits, q_letters = _shape(stem)
        out: list[tuple[int, float]] = []
        for i in hits.tolist():
            s = float(scores[i])
            choice = self._stems[i]
            if choice != stem:
                # WRatio finds "abai" inside "arkabaisai": cap substring matches
                # by the whole-string and whole-word similarities.
                whole = max(fuzz.ratio(stem, choice), fuzz.token_set_ratio(stem, choice))
                s = min(s, whole + _PARTIAL_BONUS)
                s -= _shape_penalty(q_digits, q_letters, *self._stem_shapes[i])
            if s >= _MIN_STREET_SCORE:
                out.append((i, s))
        out.sort(key=lambda t: -t[1])
        return out[:_TOP_STEMS]

    def search(self, text: str, *, limit: int = 5) -> list[Candidate]:
        """Geocode free-text address ``text``.

        Parameters
        ----------
        text : str
            What the user typed, in Kazakh, Russian or Latin script.
        limit : int, default 5
            Maximum number of candidates.

        Returns
        -------
        list of Candidate
            Best first.  Several candidates when the input is ambiguous (two
            streets match about equally, or the house exists on several of them);
            an empty list for empty or unmatched text.
        """
        if limit <= 0:
            return []
        best: dict[tuple[Any, ...], Candidate] = {}

        def add(key: tuple[Any, ...], cand: Candidate) -> None:
            old = best.get(key)
            if old is None or cand.score > old.score:
                best[key] = cand

        for hyp in _hypotheses(text):
            p = hyp.parsed
            # Street group -> best similarity, and its best-matching road row.
            group_score: dict[int, float] = {}
            group_row: dict[int, tuple[float, float, int]] = {}  # (score, length, row)
            for si, sim in self._street_scores(stem_key(p.street_key)):
                for g, pen, row in self._stem_groups[si]:
                    s = sim - pen - hyp.penalty
                    if p.is_microdistrict and not self._group_is_mkr[g]:
                        s -= _MKR_MISMATCH
                    if s > group_score.get(g, -1.0):
                        group_score[g] = s
                    if row >= 0:
                        cand_row = (s, self._row_points[row][3], -row)
                        if cand_row > group_row.get(g, (-1.0, 0.0, 0)):
                            group_row[g] = cand_row
            for g, s in group_score.items():
                if p.house_key:
                    found = self._group_houses[g].get(p.house_key, [])
                    for i in found:
                        add(("house", i), self._house_candidate(i, s))
                    if found:
                        continue
                    for i in self._group_bases[g].get(_house_base(p.house_key), []):
                        add(("house", i), self._house_candidate(i, s - _HOUSE_BASE_PENALTY))
                # The house is unknown or was not asked: the street's / place's middle.
                kind = "place" if self._group_is_mkr[g] else "street"
                drop = _NO_HOUSE_PENALTY if p.house_key else 0.0
                if g in group_row:
                    rs, _, neg_row = group_row[g]
                    lat, lon, name, _ = self._row_points[-neg_row]
                    points = [(lat, lon, name, rs)]
                else:
                    points = [(lat, lon, name, s) for lat, lon, name in self._group_centers[g]]
                for lat, lon, name, ps in points:
                    add((kind, round(lat, 5), round(lon, 5)), _fallback(lat, lon, ps - drop, kind, name))

        if not best:
            return []
        ranked = sorted(best.values(), key=lambda c: (-c.score, _MATCH_RANK[c.match]))
        top = ranked[0].score
        return [c for c in ranked if c.score >= max(_MIN_SCORE, top - _WINDOW)][:limit]

    def _house_candidate(self, i: int, score: float) -> Candidate:
        return Candidate(
            lat=float(self._lat[i]),
            lon=float(self._lon[i]),
            score=_clamp(score),
            match="house",
            street=self._addr_street[i],
            housenumber=self._housenumber[i],
            addr_id=int(self._addr_id[i]),
        )


_MATCH_RANK = {"house": 0, "place": 1, "street": 2}


def _shape(key: str) -> tuple[frozenset[str], bool]:
    """Number tokens of a key and whether it has any letters."""
    toks = key.split()
    return frozenset(t for t in toks if t.isdigit()), any(not t.isdigit() for t in toks)


def _shape_penalty(q_digits: frozenset[str], q_letters: bool, c_digits: frozenset[str], c_letters: bool) -> float:
    """Penalty for keys whose numbers disagree ("мкн 3" is not "мкн 5").

    WRatio scores a short key found inside a longer query at 90 ("5" in
    "titova 45"); numbers and a missing name must count against that.
    """
    pen = 0.0
    if q_digits != c_digits:
        pen += _DIGIT_MISMATCH if (q_digits and c_digits) else _DIGIT_MISSING
    if q_letters and not c_letters:
        pen += _NAME_MISSING
    return pen


def _clamp(score: float) -> float:
    return round(min(100.0, max(0.0, score)), 1)


def _fallback(lat: float, lon: float, score: float, kind: str, name: str) -> Candidate:
    return Candidate(
        lat=lat, lon=lon, score=_clamp(score), match=kind, street=name, housenumber=None, addr_id=None
    )
