"""The CQC local authority assessment framework: its four themes, nine quality statements and score meanings."""
from __future__ import annotations

import re

THEMES = {
    1: ("How the local authority works with people",
        ("Assessing needs", "Supporting people to live healthier lives", "Equity in experience and outcomes")),
    2: ("Providing support",
        ("Care provision, integration and continuity", "Partnerships and communities")),
    3: ("How the local authority ensures safety within the system",
        ("Safe pathways, systems and transitions", "Safeguarding")),
    4: ("Leadership",
        ("Governance, management and sustainability", "Learning, improvement and innovation")),
}
QUALITY_STATEMENTS = tuple(qs for _, statements in THEMES.values() for qs in statements)

SCORE_MEANINGS = {
    1: "Inadequate: evidence shows significant shortfalls",
    2: "Requires improvement: evidence shows some shortfalls",
    3: "Good: evidence shows a good standard",
    4: "Outstanding: evidence shows an exceptional standard",
}
RATINGS = ("Outstanding", "Good", "Requires improvement", "Inadequate")

_THEME = re.compile(r"^theme\s+(\d)\b", re.I)
# Headings that are really labels of the section above them: "Score: 1", "2 - Evidence shows some shortfalls".
_LABEL = re.compile(r"^(score\s*:\s*\d|\d\s*[-–]\s*(evidence|inadequate|requires|good|outstanding))", re.I)


def _key(name: str) -> str:
    words = re.sub(r"[^a-z ]+", " ", name.lower()).split()
    return " ".join("live" if w == "lead" else w for w in words if w != "and")


_QS_BY_KEY = {_key(qs): qs for qs in QUALITY_STATEMENTS}


def quality_statement(heading: str) -> str | None:
    """The canonical quality statement a heading names ("Supporting people to lead healthier lives" included)."""
    return _QS_BY_KEY.get(_key(heading))


def theme_number(heading: str) -> int | None:
    m = _THEME.match(heading.strip())
    return int(m.group(1)) if m else None


def theme_of(statement: str) -> int | None:
    for number, (_, statements) in THEMES.items():
        if statement in statements:
            return number
    return None


def is_label(heading: str) -> bool:
    return bool(_LABEL.match(heading.strip()))
