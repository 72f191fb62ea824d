"""Which councils a text names: "Blackpool", "Blackpool Council", "Lancashire County Council", ...

Names come from the documents' metadata; each council is also known by its short name (the name
without "Council", "County Council", "City Council", ...). Matching is case-insensitive, on word
boundaries, longest name first, so "North Lincolnshire" is not also read as "Lincolnshire".
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cached_property

from .text import fold_quotes

_KINDS = r"(?:(?:county|city|borough|metropolitan borough|district)\s+)?council"


# The usual short forms of county names ("Lancs dols backlog"), by the county's name as a key. Notts is
# Nottinghamshire, not Nottingham City.
ABBREVIATIONS = {
    "lancashire": ("lancs",), "lincolnshire": ("lincs",), "north lincolnshire": ("north lincs", "n lincs", "n. lincs"),
    "nottinghamshire": ("notts",), "leicestershire": ("leics",), "hampshire": ("hants",), "gloucestershire": ("glos",),
    "hertfordshire": ("herts",), "bedfordshire": ("beds",), "buckinghamshire": ("bucks",), "cambridgeshire": ("cambs",),
    "oxfordshire": ("oxon",), "wiltshire": ("wilts",), "northamptonshire": ("northants",), "staffordshire": ("staffs",),
    "worcestershire": ("worcs",), "derbyshire": ("derbys",), "north yorkshire": ("north yorks", "n yorks"),
    "nottingham": ("nottm",), "birmingham": ("bham", "b'ham"),
}


def short_name(council: str) -> str:
    """"Lancashire County Council" -> "Lancashire"; "Blackpool" -> "Blackpool"."""
    return re.sub(rf"\s+{_KINDS}$", "", council.strip(), flags=re.I).strip() or council.strip()


def key(council: str) -> str:
    return re.sub(r"\s+", " ", short_name(fold_quotes(council)).lower())


def _alternation(keys) -> str:
    """A regex alternation of the keys, longest first (so "North Lincolnshire" is not read as "Lincolnshire"), any
    white space between their words."""
    return "|".join(re.escape(k).replace(r"\ ", r"\s+") for k in sorted(keys, key=len, reverse=True))


class CouncilMatcher:
    def __init__(self, councils: Iterable[str]):
        self.names: dict[str, str] = {}  # key -> canonical full name
        for c in councils:
            self.names.setdefault(key(c), c)
        for name, short_forms in ABBREVIATIONS.items():
            for form in short_forms if name in self.names else ():
                self.names.setdefault(form, self.names[name])
        forms = [k for k in self.names if key(self.names[k]) != k]  # the short forms, not the names themselves
        self._short_forms = re.compile(rf"\b({_alternation(forms)})\b", re.I) if forms else None
        self._pattern = re.compile(rf"\b({_alternation(self.names)})(?:'s)?(?:\s+{_KINDS})?\b", re.I) \
            if self.names else None

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

    def spell_out(self, text: str) -> str:
        """The text with a county's short form written as its name ("lancs dols" -> "Lancashire dols")."""
        if self._short_forms is None:
            return text
        return self._short_forms.sub(lambda m: short_name(self.names[re.sub(r"\s+", " ", m.group(1).lower())]), text)

    def strip(self, text: str) -> str:
        """The text with the council names it contains taken out."""
        return re.sub(r"\s+", " ", self._pattern.sub(" ", fold_quotes(text))).strip() if self._pattern else text

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


def _data_lines(name: str) -> list[str]:
    """The lines of a file in rag/data/, but blank ones and comments."""
    from pathlib import Path

    path = Path(__file__).with_name("data") / name
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")]


def _gazetteer() -> list[str]:
    return _data_lines("english_councils.txt")


# A town's name as part of another body's: "Preston Hospital", "Ipswich Town", "Lincoln University"
_INSTITUTION = re.compile(r"\s+(hospitals?|infirmary|trust|university|college|school|academy|prison|station|airport|"
                          r"town|city|united|rovers|f\.?c\.?|police|fire|council)\b", re.I)


def _town_key(town: str) -> str:
    return " ".join(town.lower().replace("-", " ").split())


def _towns() -> dict[str, str]:
    """Town -> the short name of the council providing its adult social care (data/english_towns.txt)."""
    pairs = (line.split("=", 1) for line in _data_lines("english_towns.txt") if "=" in line)
    return {town.strip(): council.strip() for town, council in pairs}


# Council names that are also everyday words or surnames: only read as councils next to "Council".
_AMBIGUOUS = {"Reading", "Bury", "Sutton", "Derby", "Bedford", "Brent", "Halton", "Merton", "Sefton", "Rutland"}
_ANY_COUNCIL = re.compile(r"\b((?:[A-Z][a-z]+(?:[- ](?:upon|on|and|with|of|the|[A-Z][a-z]+))*)\s+"
                          r"(?:County |City |Borough |Metropolitan Borough |District )?Council)\b")


class CouncilGazetteer:
    """Recognises English councils by name, so a question about one the corpus does not cover can be told so."""

    def __init__(self, covered: CouncilMatcher):
        self.covered = covered
        names = [n for n in _gazetteer()]
        self._plain = re.compile(r"\b(" + "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)
                                                   if n not in _AMBIGUOUS) + r")\b")
        self._ambiguous = re.compile(r"\b(" + "|".join(sorted(_AMBIGUOUS)) + r")(?:'s)?\s+(?:Borough |City )?Council\b")

    @cached_property
    def town_councils(self) -> dict[str, str]:
        """Town key ("barton upon humber") -> its council's short name."""
        return {_town_key(t): c for t, c in _towns().items()}

    @cached_property
    def _town_pattern(self) -> re.Pattern:
        alternation = "|".join(r"[\s-]+".join(map(re.escape, t.split()))
                               for t in sorted(self.town_councils, key=len, reverse=True))
        return re.compile(rf"\b({alternation})\b", re.I)

    def towns(self, text: str) -> list[tuple[str, str]]:
        """(town as written, its council's short name) for each town the text names ("near Preston": Lancashire)."""
        text = fold_quotes(text)
        return [(m.group(1), self.town_councils[_town_key(m.group(1))]) for m in self._town_pattern.finditer(text)
                if not _INSTITUTION.match(text, m.end())]  # "Royal Preston Hospital" is no council's area

    def not_covered(self, text: str) -> list[str]:
        """Councils the text names (as written, short form) that no document covers."""
        text = fold_quotes(text)
        found: list[str] = []
        taken: list[tuple[int, int]] = []
        for pattern in (self._ambiguous, self._plain, _ANY_COUNCIL):
            for m in pattern.finditer(text):
                words = m.group(1).split()
                while words and words[0] in _NOT_NAMES:
                    words.pop(0)
                name = " ".join(words)
                start = m.end(1) - len(name)
                if len(words) < (2 if pattern is _ANY_COUNCIL else 1) or any(s < m.end() and start < e for s, e in taken):
                    continue
                taken.append((start, m.end()))
                if not self.covered.find(name) and short_name(name) not in found:
                    found.append(short_name(name))
        return found


# Capitalised words that start a sentence, not a council's name: "Was Leeds City Council ...".
_NOT_NAMES = {"Was", "Is", "Are", "Were", "Did", "Does", "Do", "Has", "Have", "Had", "How", "What", "Why", "When",
              "Where", "Which", "Who", "Whose", "The", "A", "An", "Each", "Every", "Our", "Their", "This", "That",
              "In", "For", "At", "By", "From", "Can", "Could", "Will", "Would", "Should", "Tell", "Show"}
