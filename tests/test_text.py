from hypothesis import given, strategies as st

from rag.text import fold_quotes, normalize, tokenize


def test_numbers_percentages_money_and_ranges_stay_whole():
    tokens = tokenize("44.68% of carers; £71,158,000.00 spent; the Carers Strategy 2023-2028 in 2023/24")
    assert "44.68%" in tokens
    assert "£71,158,000.00" in tokens
    assert "2023-2028" in tokens
    assert "2023/24" in tokens


def test_numbers_also_give_their_bare_forms():
    tokens = tokenize("£71,158,000 and 3,500 people and 24.70%")
    assert "71,158,000" in tokens and "71158000" in tokens
    assert "3500" in tokens and "24.70" in tokens


def test_curly_quotes_fold_and_possessives_drop():
    assert tokenize("Blackpool’s ‘inadequate’ rating") == tokenize("Blackpool's 'inadequate' rating")
    assert tokenize("Blackpool's")[0] == "blackpool"


def test_stop_words_dropped_and_words_stemmed():
    assert tokenize("What is the waiting time for the assessments?") == ["wait", "time", "assess"]


def test_dashes_in_ranges_are_folded():
    assert "2023-2028" in tokenize("2023–2028")


def test_normalize_matches_the_eval_rule():
    assert normalize("## Care provision, integration and continuity\n\nScore: 2") == \
        "care provision, integration and continuity score: 2"
    assert normalize("“committed, compassionate and competent”") == '"committed, compassionate and competent"'
    assert normalize("**24.70%** of the `budget`|x > y") == "24.70% of the budget x y"


def test_fold_quotes():
    assert fold_quotes("‘a’ “b”") == "'a' \"b\""


@given(st.text())
def test_tokenize_and_normalize_never_fail(text):
    tokens = tokenize(text)
    assert all(isinstance(t, str) and t for t in tokens)
    assert normalize(normalize(text)) == normalize(text)


def test_tokens_are_remembered_but_each_call_gets_its_own_lists():
    """tokenize and term_groups remember each text's terms (answer picking tokenises the same sentences for every
    question): a caller changing what it got changes nothing for the next caller."""
    from rag.text import term_groups, tokenize

    first = tokenize("Blackpool's 44.68% in 2023-2028")
    first.append("changed")
    assert tokenize("Blackpool's 44.68% in 2023-2028") == ["blackpool", "44.68%", "44.68", "2023-2028", "2023", "2028"]
    groups = term_groups("£71,158,000 in 2023/24")
    groups[0].append("changed")
    groups.append(["more"])
    assert term_groups("£71,158,000 in 2023/24") == [["£71,158,000", "71,158,000", "71158000"],
                                                      ["2023/24", "fy2023", "2023", "24"]]
