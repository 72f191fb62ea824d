"""Which councils a text names: "Blackpool", "Blackpool Council", "Lancashire County Council", ...

Names come from the documents' metadata; each council is also known by its short name (the name
without "Council", "County Council", "City Council", ...). Matching is case-insensitive, on word
boundaries, longest name first, so "North Lincolnshire" is not also read as "Lincolnshire".
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from .text import fold_quotes

_KINDS = r"(?:(?:county|city|borough|metropolitan borough|district)\s+)?council"


def short_name(council: str) -> str:
    """"Lancashire County Council" -> "Lancashire"; "Blackpool" -> "Blackpool"."""
    return re.sub(rf"\s+{_KINDS}$", "", council.strip(), flags=re.I).strip() or council.strip()


def key(council: str) -> str:
    return re.sub(r"\s+", " ", short_name(fold_quotes(council)).lower())


class CouncilMatcher:
    def __init__(self, councils: Iterable[str]):
        self.names: dict[str, str] = {}  # key -> canonical full name
        for c in councils:
            self.names.setdefault(key(c), c)
        alternatives = sorted(self.names, key=len, reverse=True)
        self._pattern = re.compile(
            r"\b(" + "|".join(re.escape(k).replace(r"\ ", r"\s+") for k in alternatives) + rf")(?:'s)?(?:\s+{_KINDS})?\b",
            re.I) if alternatives else None

    def find(self, text: str) -> list[str]:
        """Canonical names of the councils the text names, in order of first mention."""
        if self._pattern is None:
            return []
        found = []
        for m in self._pattern.finditer(fold_quotes(text)):
            name = self.names[re.sub(r"\s+", " ", m.group(1).lower())]
            if name not in found:
                found.append(name)
        return found

    def resolve(self, name: str) -> str | None:
        """The canonical council a user's name for it means, or None."""
        return self.names.get(key(name))


def passage_councils(doc_councils: tuple[str, ...], section: str, text: str) -> tuple[str, ...]:
    """The councils a passage is about: its document's one council; in a document about several, the
    ones its section heading names, else the ones its text names (none for a general passage)."""
    if len(doc_councils) <= 1:
        return tuple(doc_councils)
    matcher = CouncilMatcher(doc_councils)
    return tuple(matcher.find(section) or matcher.find(text))
