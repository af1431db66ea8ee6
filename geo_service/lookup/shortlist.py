"""Which street keys are worth the full fuzzy score for a query key.

`rapidfuzz.fuzz.WRatio` costs about 1.4 µs per pair: 3 ms per query against the 2,000
street keys of a large register, several times per query. A street key can only reach the
geocoder's threshold when it is close to the query as a whole (Indel ``ratio``, 0.05 µs per
pair) or shares a word with it, possibly misspelt (the query's words against the distinct
words of all keys, a few thousand). `Shortlist.candidates` returns those keys; the geocoder
scores only them with WRatio, so a query costs what it shares with the data, not the number
of streets.
"""

from __future__ import annotations

import numpy as np
from rapidfuzz import fuzz, process

__all__ = ["Shortlist"]

#: Whole-key similarity below which a key cannot reach the geocoder's threshold (70 - 15 bonus).
MIN_WHOLE = 55.0
#: A query word this similar to a key's word makes the key a candidate ("Benlloch" ~ "Benloch").
MIN_WORD = 75.0


class Shortlist:
    """The street keys worth scoring for a query key."""

    def __init__(self, stems: list[str]) -> None:
        self.stems = stems
        words: dict[str, list[int]] = {}
        for i, stem in enumerate(stems):
            for w in set(stem.split()):
                words.setdefault(w, []).append(i)
        self.words = list(words)
        self.word_stems = [np.asarray(v, dtype=np.int64) for v in words.values()]

    def candidates(self, stem: str) -> np.ndarray:
        """Indices of the keys close to ``stem`` as a whole, or sharing a (near-)word with it."""
        if not self.stems:
            return np.zeros(0, dtype=np.int64)
        whole = process.cdist([stem], self.stems, scorer=fuzz.ratio, score_cutoff=MIN_WHOLE, workers=1)[0]
        parts = [np.flatnonzero(whole)]
        q_words = [w for w in set(stem.split()) if len(w) >= 3 or w.isdigit()]
        if q_words and self.words:
            near = process.cdist(q_words, self.words, scorer=fuzz.ratio, score_cutoff=MIN_WORD, workers=1)
            for qi, wi in zip(*np.nonzero(near)):
                if q_words[qi].isdigit() and q_words[qi] != self.words[wi]:
                    continue  # numbers match exactly or not at all
                parts.append(self.word_stems[wi])
        return np.unique(np.concatenate(parts))
