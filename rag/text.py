"""The one tokeniser and the one normaliser, used by indexing, querying and evaluation alike."""
from __future__ import annotations

import re
from functools import lru_cache

import snowballstemmer

TOKENIZER_VERSION = 4  # stored in the index manifest: a change means the BM25 data must be rebuilt

# Numbers written as words, as the reports and questions write them ("four weeks", "six scored 2").
NUMBER_WORDS = {w: n for n, w in enumerate("one two three four five six seven eight nine ten eleven twelve".split(), 1)}

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
                         "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"'})
_DASHES = str.maketrans({"\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-"})
_MARKS = re.compile(r"[*#_`>|\\]")
_SPACE = re.compile(r"\s+")


def fold_quotes(text: str) -> str:
    """Curly quotes to straight ones."""
    return text.translate(_QUOTES)


def normalize(text: str) -> str:
    """For matching evidence: quotes folded, Markdown marks (* # _ ` > | \\) to spaces, spaces collapsed, lower case."""
    text = _MARKS.sub(" ", fold_quotes(text))
    return _SPACE.sub(" ", text).strip().lower()


# A number keeps its money sign, thousands separators, decimals, percent sign and range or
# year-span parts as one token: £71,158,000  44.68%  2023-2028  2023/24  24.70%.
_NUMBER = r"£?\d+(?:[.,]\d+)*%?(?:[-/]\d+(?:[.,]\d+)*%?)*"
_WORD = r"[a-z]+(?:'[a-z]+)*"
_TOKEN = re.compile(rf"{_NUMBER}|{_WORD}")
_NUMBER_PART = re.compile(r"\d+(?:[.,]\d+)*%?")

STOPWORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being below
between both but by can could did do does doing down during each few for from further had has have
having he her here hers herself him himself his how i if in into is it its itself just me more most
my myself no nor not now of off on once only or other our ours ourselves out over own same she
should so some such than that the their theirs them themselves then there these they this those
through to too under until up very was we were what when where which while who whom why will with
would you your yours yourself yourselves s t don didn doesn isn wasn weren won wouldn also get got
many much say said says
im ive youre theyre weve dont doesnt didnt isnt arent wasnt werent hasnt havent hadnt cant couldnt wouldnt shouldnt
""".split())

_stemmer = snowballstemmer.stemmer("english")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    return _stemmer.stemWord(word)


_YEAR_SPAN = re.compile(r"^((?:19|20)\d\d)[-/]((?:19|20)?\d\d)$")


def _number_tokens(token: str) -> list[str]:
    """The number as written, then its bare forms: without £ or %, without thousands commas, each part
    of a range, and for a financial year (2023/24, 2023/2024, 2023-24) one form they all share."""
    out = [token]
    if (m := _YEAR_SPAN.match(token)) and int(m.group(2)[-2:]) == (int(m.group(1)) + 1) % 100:
        out.append(f"fy{m.group(1)}")
    for part in _NUMBER_PART.findall(token):
        for form in (part, part.rstrip("%"), part.rstrip("%").replace(",", "")):
            if form not in out:
                out.append(form)
    return out


def term_groups(text: str) -> list[list[str]]:
    """Each term of the text with its equivalent forms: a word as one stem, a number with its bare forms.

    tokenize() is these groups flattened; answer scoring counts a group once, matched by any form.
    """
    return [list(group) for group in _term_groups(text)]


def tokenize(text: str) -> list[str]:
    """Lower-cased, stop words dropped, words stemmed; numbers kept whole, with their bare forms beside them.

    "Blackpool's 44.68% in 2023-2028" -> ["blackpool", "44.68%", "44.68", "2023-2028", "2023", "2028"]
    """
    return list(_tokens(text))


# Remembered per text: answering a question tokenises each candidate sentence of the top passages and its
# context (about 25 a request), and the same sentences recur across questions (a fifth of a search's CPU before).
@lru_cache(maxsize=16384)
def _tokens(text: str) -> tuple[str, ...]:
    return tuple(form for group in _term_groups(text) for form in group)


@lru_cache(maxsize=16384)
def _term_groups(text: str) -> tuple[tuple[str, ...], ...]:
    text = fold_quotes(text).translate(_DASHES).lower()
    groups: list[tuple[str, ...]] = []
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token[0].isdigit() or token[0] == "£":
            groups.append(tuple(_number_tokens(token.rstrip(",."))))
            continue
        if token.endswith("'s"):
            token = token[:-2]
        token = token.replace("'", "")
        if token and token not in STOPWORDS:
            groups.append((stem(token),))
    return tuple(groups)
