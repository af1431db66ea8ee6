"""Every spelling of a street, linked into groups: the geocoder's street table.

The ``name`` / ``name_kk`` / ``name_ru`` of a road, the ``addr:street`` values of its
addresses and the register's ``street_kk`` / ``street_ru`` are one street; ``old_name`` and
bracketed names are weaker aliases (`ALIAS_PENALTY`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geo_service.address_text import MKR_PHRASES, PAREN, fold, has_phrase, stem_key, tokens

__all__ = ["ALIAS_PENALTY", "Aliases", "UnionFind", "split_name", "text_column"]

ALIAS_PENALTY = 3.0  # old_name / bracketed names


def text_column(frame: pd.DataFrame, col: str) -> list[str]:
    """A text column as stripped strings ("" for missing values and absent columns)."""
    if col not in frame.columns:
        return [""] * len(frame)
    return ["" if not isinstance(v, str) else v.strip() for v in frame[col].tolist()]


class UnionFind:
    """Disjoint sets of spellings; the smallest spelling names a set."""

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


def split_name(raw: str) -> tuple[list[str], list[str]]:
    """Main spellings and secondary spellings of a raw name.

    "пр. Достык (Ленина)" -> (["пр. Достык"], ["Ленина"]);
    "ул. Джандосова;ул.Джандосова" -> (["ул. Джандосова", "ул.Джандосова"], []).
    """
    main: list[str] = []
    extra: list[str] = []
    for part in str(raw).split(";"):
        extra.extend(p for p in PAREN.findall(part) if p.strip())
        outer = PAREN.sub(" ", part).strip()
        if outer:
            main.append(outer)
    return main, extra


class Aliases:
    """Every spelling of a street seen while building, linked into groups by a union-find."""

    def __init__(self) -> None:
        self.uf = UnionFind()
        # (stem, owner stem for the group, penalty, street row or -1, is_mkr)
        self.aliases: list[tuple[str, str, float, int, bool]] = []
        self._memo: dict[str, tuple[list[tuple[str, bool]], list[tuple[str, bool]]]] = {}
        self._group_of: dict[str, int] = {}

    @property
    def n_groups(self) -> int:
        """Number of groups numbered by :meth:`gid` so far."""
        return len(self._group_of)

    def keys_of(self, raw: str) -> tuple[list[tuple[str, bool]], list[tuple[str, bool]]]:
        """(stem, is_mkr) of the main and of the secondary spellings of a raw name (memoised)."""
        memo = self._memo
        if raw not in memo:
            main, extra = split_name(raw)

            def conv(parts: list[str]) -> list[tuple[str, bool]]:
                res = []
                for p in parts:
                    k = stem_key(fold(p))
                    if len(k.replace(" ", "")) >= 2 or k.isdigit():  # not junk like "с"
                        res.append((k, has_phrase(tokens(p), MKR_PHRASES)))
                return res

            memo[raw] = (conv(main), conv(extra))
        return memo[raw]

    def add_streets(self, streets: pd.DataFrame) -> list[tuple[float, float, str, float]]:
        """Add the streets table's names; return its rows as (lat, lon, name, length_m)."""
        uf, aliases, keys_of = self.uf, self.aliases, self.keys_of
        # Streets table: name / name_kk / name_ru are one street; old_name is weaker.
        s_names = text_column(streets, "name")
        s_kk = text_column(streets, "name_kk")
        s_ru = text_column(streets, "name_ru")
        s_old = text_column(streets, "old_name")
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
                aliases.append((k, owner, ALIAS_PENALTY, r, is_mkr or f))
        return row_points

    def add_addresses(self, a_street: list[str], a_place: list[str],
                      a_other: list[list[str]] | None = None) -> list[list[str]]:
        """Add every addr:street / addr:place spelling; return each address's group owners.

        ``a_other[i]`` holds other spellings of address ``i``'s street (the register's
        ``street_kk`` / ``street_ru``): they join the street's group.
        """
        uf, keys_of = self.uf, self.keys_of
        addr_groups: list[list[str]] = []
        seen_alias: set[tuple[str, str, bool]] = set()
        memo: dict[tuple[str, ...], list[str]] = {}  # a register repeats each street for every house
        for i in range(len(a_street)):
            other = a_other[i] if a_other is not None else []
            seen = memo.get(key := (a_street[i], a_place[i], *other))
            if seen is not None:
                addr_groups.append(seen)
                continue
            owners: list[str] = []
            for raw, is_place, more in ((a_street[i], False, other), (a_place[i], True, [])):
                spellings = [keys_of(r) for r in (raw, *more) if r]
                mains = [k for m, _ in spellings for k in m]
                extras = [k for _, e in spellings for k in e]
                if not mains:
                    mains, extras = extras[:1], extras[1:]
                if not mains:
                    continue
                owner = mains[0][0]
                for k, _ in mains:
                    uf.union(owner, k)
                owners.append(owner)
                for keys, pen in ((mains, 0.0), (extras, ALIAS_PENALTY)):
                    for k, f in keys:
                        if (k, owner, pen == 0.0) not in seen_alias:
                            seen_alias.add((k, owner, pen == 0.0))
                            self.aliases.append((k, owner, pen, -1, f or is_place))
            memo[key] = owners
            addr_groups.append(owners)
        return addr_groups

    def gid(self, stem: str) -> int:
        """The group number of ``stem``'s union-find root (numbered on first sight)."""
        group_of = self._group_of
        root = self.uf.find(stem)
        if root not in group_of:
            group_of[root] = len(group_of)
        return group_of[root]
