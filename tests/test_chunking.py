import re

from hypothesis import HealthCheck, given, settings, strategies as st

from rag.chunking import chunk_text, find_headings, sections
from tests.conftest import BLACKPOOL_REPORT, CORPUS

REPORT = BLACKPOOL_REPORT.read_text(encoding="utf-8")


def passages_of(text, **kw):
    return [(p.section, text[p.start:p.end]) for p in chunk_text(text, "d", **kw)]


def test_quality_statement_path_under_its_theme_whatever_the_heading_level():
    paths = {p.section for p in chunk_text(REPORT, "d")}
    assert ("Theme 3", "Safeguarding", "Responding to concerns and undertaking Section 42 enquiries") in paths
    # "# Assessing needs" (level 1), "## Equity ..." (level 2) and "#### Safety management" (level 4)
    assert ("Theme 1", "Assessing needs", "Timeliness of assessments, care planning and reviews") in paths
    assert ("Theme 1", "Equity in experience and outcomes", "Inclusion and accessibility arrangements") in paths
    assert ("Theme 3", "Safe pathways, systems and transitions", "Safety management") in paths
    assert ("Theme 4", "Learning, improvement and innovation", "Learning from feedback") in paths


def test_score_labels_set_as_headings_are_text_not_sections():
    for section, _ in passages_of(REPORT):
        assert not any(re.match(r"(Score: \d|\d - Evidence)", s) for s in section), section


def test_score_passages_begin_at_their_heading():
    found = {section: text for section, text in passages_of(REPORT)}
    assert found[("Quality statement scores", "Safeguarding")].startswith("## Safeguarding\n\nScore: 1")
    assert found[("Theme 3", "Safeguarding")].startswith("# Safeguarding\n\nScore: 1")
    assert "Inadequate" in found[("Local authority rating and score", "Blackpool Council")]
    care = found[("Quality statement scores", "Care provision, integration and continuity")]
    assert care.startswith("### Care provision, integration and continuity\n\nScore: 2")


def test_passages_respect_the_maximum_and_stay_readable():
    for text in (REPORT, *(p.read_text(encoding="utf-8") for p in CORPUS.glob("*.txt"))):
        for section, passage in passages_of(text):
            assert len(passage) <= 1200
            assert passage == passage.strip()


def test_a_line_introducing_a_list_stays_with_its_items():
    text = (CORPUS / "lancashire-county-council-staff-news-2025-08-15.txt").read_text(encoding="utf-8")
    for _, passage in passages_of(text):
        if "Key areas for improvement include:" in passage:
            assert "Reducing service variation across the county" in passage
            assert passage.startswith("Key areas for improvement include:")
            break
    else:
        raise AssertionError("list introduction not found")


def test_plain_text_articles_get_sections_from_title_like_lines():
    text = (CORPUS / "cqc-pilot-assessments-five-councils-news-2023.txt").read_text(encoding="utf-8")
    titles = [h.title for h in find_headings(text)]
    assert "Lincolnshire (indicative rating: good)" in titles
    assert "North Lincolnshire (indicative rating: good)" in titles
    paths = {section for section, passage in passages_of(text) if "transitions to adulthood" in passage}
    assert paths == {("Lincolnshire (indicative rating: good)",)}


def test_a_heading_with_no_text_joins_the_section_after_it():
    text = "# Title\n\n## Key findings\n\n## Timeliness\n\nPeople waited 335 days.\n"
    assert passages_of(text) == [(("Timeliness",), "# Title\n\n## Key findings\n\n## Timeliness\n\nPeople waited 335 days.")]


def test_long_paragraphs_split_at_sentences():
    sentence = "The local authority had a plan that was reviewed every year by staff. "
    text = "## Section\n\n" + sentence * 40
    chunks = passages_of(text, target_chars=700, max_chars=1200)
    assert len(chunks) > 1
    for _, passage in chunks:
        assert passage.endswith(".")  # cut between sentences


def test_fenced_code_is_not_read_as_headings():
    text = "# Doc\n\n```\n# not a heading\n```\n\n## Real\n\nText here.\n"
    assert [s[0] for s in sections(text)] == [(), ("Real",)]


# ---- property: exact offsets, full coverage, on generated Markdown ----

words = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\n\r"), min_size=1, max_size=40)
line = st.one_of(
    st.builds(lambda n, w: "#" * n + " " + w, st.integers(1, 7), words),
    st.builds(lambda w: "- " + w, words),
    st.builds(lambda w: w + ":", words),
    st.just("---"), st.just("Score: 2"), st.just("## Score: 1"), st.just("```"), st.just(""),
    st.builds(lambda ws: ". ".join(ws), st.lists(words, min_size=1, max_size=60)),
)
markdown = st.lists(line, max_size=60).map("\n".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(markdown, st.sampled_from([(80, 120), (300, 500), (700, 1200)]))
def test_offsets_are_exact_and_every_visible_character_is_covered(text, sizes):
    target, maximum = sizes
    passages = chunk_text(text, "doc", target_chars=target, max_chars=maximum)
    covered = [False] * len(text)
    previous_end = 0
    for p in passages:
        assert 0 <= previous_end <= p.start < p.end <= len(text)
        piece = text[p.start:p.end]
        assert piece == piece.strip() and piece
        assert len(piece) <= maximum
        for i in range(p.start, p.end):
            covered[i] = True
        previous_end = p.end
    missing = [i for i, ch in enumerate(text) if not ch.isspace() and not covered[i]]
    assert not missing, (text, missing[:5])


def test_readers_comments_under_an_article_are_a_section_of_their_own():
    from rag.chunking import is_comments_heading, plain_headings
    text = (CORPUS / "cqc-pilot-assessments-five-councils-news-2023.txt").read_text(encoding="utf-8")
    last = plain_headings(text)[-1].title
    assert is_comments_heading(last) and last.startswith("One Response to")
    assert not is_comments_heading("Roll-out of CQC assessments due to begin")
