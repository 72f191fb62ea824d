import json
import re

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape

from rag.app import create_app
from rag.render import passage_url, quote_html


@pytest.fixture(scope="module")
def client(service):
    return TestClient(create_app(service.settings, service=service))


def test_healthz(client):
    body = client.get("/healthz").json()
    assert body["status"] == "ok" and body["mode"] == "hybrid" and body["documents"] == 5


def test_api_search_is_the_cli_json(client, service):
    r = client.get("/api/search", params={"q": "carers satisfied Blackpool", "k": 3})
    assert r.status_code == 200
    assert r.json() == service.search("carers satisfied Blackpool", k=3)


@pytest.mark.parametrize("params,fragment", [
    ({"q": ""}, "empty"), ({"q": "   "}, "empty"), ({"q": "x" * 2001}, "2000"),
    ({"q": "x", "k": 0}, "k"), ({"q": "x", "k": 51}, "k"), ({"q": "x", "k": "ten"}, "k"),
    ({"q": "x", "council": "Kent"}, "Councils covered"),
])
def test_api_search_errors_say_what_to_change(client, params, fragment):
    r = client.get("/api/search", params=params)
    assert r.status_code == 422
    assert fragment in r.json()["detail"]


def test_unknown_document_filter_is_404(client):
    r = client.get("/api/search", params={"q": "x", "doc": "nope"})
    assert r.status_code == 404 and "nope" in r.json()["detail"]


# --- shared helpers ---

BLACKPOOL = "blackpool-council-local-authority-assessment-2025-08-06"
SAFEGUARDING = "What score did Blackpool get for safeguarding?"


def assert_security_headers(r):
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "style-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "same-origin"
    assert r.headers["x-frame-options"] == "DENY"


# --- POST /api/ask ---

def test_api_ask_returns_a_cited_answer(client):
    r = client.post("/api/ask", json={"question": SAFEGUARDING})
    assert r.status_code == 200
    body = r.json()
    assert {"answer", "found", "citations", "conversation_id", "mode", "answer_source"} <= set(body)
    assert body["found"] and body["mode"] == "hybrid"
    src = body["answer_source"]  # the answer is verbatim text of the document it cites
    assert client.get(f"/api/documents/{src['doc']}").json()["text"][src["start"]:src["end"]] == body["answer"]
    assert 1 <= len(body["citations"]) <= 5
    assert any("Safeguarding" in c["section_path"] for c in body["citations"])
    c = body["citations"][0]
    assert {"text", "doc", "title", "section", "section_path", "start", "end", "score"} <= set(c)


def test_api_ask_follow_up_keeps_the_council(client):
    first = client.post("/api/ask", json={"question": SAFEGUARDING}).json()
    second = client.post("/api/ask", json={"question": "and for assessing needs?",
                                            "conversation_id": first["conversation_id"]}).json()
    assert second["conversation_id"] == first["conversation_id"]
    assert second["council"] == "Blackpool Council"
    assert any("Assessing needs" in c["section_path"] for c in second["citations"])


def test_api_ask_filters(client):
    body = client.post("/api/ask", json={"question": "waiting for an assessment", "council": "Lancashire"}).json()
    assert body["citations"] and all("Lancashire County Council" in c["councils"] for c in body["citations"])
    body = client.post("/api/ask", json={"question": "rating", "doc": "lancashire-rated-requires-improvement-news"}).json()
    assert {c["doc"] for c in body["citations"]} == {"lancashire-rated-requires-improvement-news"}


@pytest.mark.parametrize("payload,fragment", [
    ({"question": ""}, "empty"),
    ({"question": "  \n "}, "empty"),
    ({"question": "x" * 2001}, "2000"),
    ({}, "question: Field required"),
    ({"q": "hello"}, "q: Extra inputs are not permitted"),
    ({"question": 5}, "question: Input should be a valid string"),
    ({"question": None}, "question: Input should be a valid string"),
    ({"question": "x", "conversation_id": ["a"]}, "conversation_id"),
    ({"question": "x", "council": 3}, "council"),
    ({"question": "x", "council": "Kent"}, "Councils covered"),
    ({"question": "\ud800 safeguarding"}, "unpaired surrogate"),
    (["What score?"], "JSON object"),
    ("What score?", "JSON object"),
])
def test_api_ask_errors_say_what_to_change(client, payload, fragment):
    r = client.post("/api/ask", content=json.dumps(payload), headers={"Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    assert fragment in r.json()["detail"]
    assert_security_headers(r)


@pytest.mark.parametrize("content", ['{"question": "x"', "question=x", "", "\xff\xfe", "[" * 5000 + "]" * 5000])
def test_api_ask_malformed_body_is_422(client, content):
    r = client.post("/api/ask", content=content.encode("latin-1"), headers={"Content-Type": "application/json"})
    assert r.status_code == 422
    assert "JSON" in r.json()["detail"]


def test_api_ask_unknown_document_is_404(client):
    r = client.post("/api/ask", json={"question": "x", "doc": "../../etc/passwd"})
    assert r.status_code == 404 and "passwd" in r.json()["detail"] and BLACKPOOL in r.json()["detail"]


def test_api_ask_wrong_method_is_405_json(client):
    r = client.get("/api/ask")
    assert r.status_code == 405 and "GET is not allowed on /api/ask" in r.json()["detail"]


# --- documents ---

def test_api_documents(client, service):
    body = client.get("/api/documents").json()
    assert body == {"documents": service.documents()}
    assert len(body["documents"]) == 5 and {"id", "title", "councils", "kind", "date", "passages"} <= set(body["documents"][0])


def test_api_document_has_metadata_and_text(client, service):
    body = client.get(f"/api/documents/{BLACKPOOL}").json()
    assert body == service.document(BLACKPOOL)
    assert body["title"].startswith("Blackpool Council") and len(body["text"]) > 100_000


def test_api_document_with_a_cited_range(client, service):
    body = client.get(f"/api/documents/{BLACKPOOL}", params={"start": 4603, "end": 4633}).json()
    assert body["cited"] == {"start": 4603, "end": 4633, "text": service.document(BLACKPOOL)["text"][4603:4633]}


@pytest.mark.parametrize("path,status", [
    ("/api/documents/nope", 404), ("/api/documents/%2E%2E", 404), ("/api/documents/%2e%2e%2fcorpus", 404),
    ("/api/documents/..%2F..%2Fetc%2Fpasswd", 404), ("/api/nothing-here", 404),
    (f"/api/documents/{BLACKPOOL}?start=10", 422), (f"/api/documents/{BLACKPOOL}?start=10&end=5", 422),
    (f"/api/documents/{BLACKPOOL}?start=-1&end=5", 422), (f"/api/documents/{BLACKPOOL}?start=0&end=99999999", 422),
    (f"/api/documents/{BLACKPOOL}?start=a&end=5", 422),
])
def test_api_document_errors(client, path, status):
    r = client.get(path)
    assert r.status_code == status
    assert r.headers["content-type"].startswith("application/json") and r.json()["detail"]
    assert "Traceback" not in r.text


# --- health, schema, docs ---

def test_openapi_schema_lists_the_api(client):
    r = client.get("/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    assert {"/healthz", "/api/search", "/api/ask", "/api/documents", "/api/documents/{doc_id}"} <= set(paths)
    assert "post" in paths["/api/ask"]


def test_docs_page_lists_the_routes_without_a_cdn(client):
    r = client.get("/docs")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "POST /api/ask" in r.text and "/openapi.json" in r.text
    assert "cdn" not in r.text.lower() and "<script>" not in r.text


# --- headers, errors, escaping ---

@pytest.mark.parametrize("method,path", [
    ("get", "/"), ("get", "/healthz"), ("get", "/api/documents"), ("get", "/documents"), ("get", "/nope"),
    ("get", "/api/search?q="), ("get", "/ask?q="), ("get", "/static/style.css"), ("get", "/openapi.json"),
    ("get", "/docs"), ("post", "/api/ask"),
])
def test_security_headers_on_every_response(client, method, path):
    assert_security_headers(getattr(client, method)(path))


def test_a_server_bug_is_a_generic_500_with_headers(service, caplog):
    app = create_app(service.settings, service=service)

    @app.get("/api/boom")
    def boom():
        raise RuntimeError("secret internals")

    @app.get("/boom")
    def boom_page():
        raise RuntimeError("secret internals")

    c = TestClient(app, raise_server_exceptions=False)
    r = c.get("/api/boom")
    assert r.status_code == 500 and r.json() == {"detail": "Something went wrong on our side. Please try again later."}
    assert_security_headers(r)
    r = c.get("/boom")
    assert r.status_code == 500 and "text/html" in r.headers["content-type"] and "secret" not in r.text
    assert "secret internals" in caplog.text  # logged for us, not shown to them


# --- HTML pages ---

def test_home_page_has_the_form_filters_and_landmarks(client, service):
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    assert '<html lang="en-GB">' in html and 'class="skip-link" href="#main"' in html
    assert '<main id="main"' in html and "<header" in html and "<footer" in html and '<nav aria-label="Main">' in html
    assert '<form id="ask-form" class="ask-form" action="/ask" method="get"' in html
    assert '<label for="q">' in html and 'name="conversation_id" value=""' in html
    assert '<option value="Lancashire County Council">' in html
    for d in service.documents():
        assert f'<option value="{d["id"]}">' in html
    assert '<script src="/static/app.js" defer></script>' in html and "<script>" not in html
    assert "cdn" not in html.lower() and "http://" not in html and "https://" not in html


def test_ask_page_renders_the_answer_and_citations(client):
    api = client.post("/api/ask", json={"question": SAFEGUARDING}).json()
    r = client.get("/ask", params={"q": SAFEGUARDING})
    assert r.status_code == 200
    html = r.text
    assert f'<blockquote class="quote">{quote_html(api["answer"], 3)}</blockquote>' in html
    assert "##" not in html and "**" not in html
    n = api["answer_source"]["citation"] + 1
    assert f'Quoted from <a href="#turn-1-c{n}">citation {n}</a>' in html
    for i, c in enumerate(api["citations"], 1):
        assert f'<li class="citation" id="turn-1-c{i}">' in html
        assert "".join(f"<li>{escape(part)}</li>" for part in c["section_path"]) in html
        assert f'href="{escape(passage_url(c["doc"], c["start"], c["end"]))}">View in report' in html
    assert "<li>Safeguarding</li>" in html and "<mark>Safeguarding</mark>" in html
    conversation_id = html.split('name="conversation_id" value="')[1].split('"')[0]
    assert len(conversation_id) > 10
    # the follow-up, as the no-JavaScript form sends it: the whole conversation shown, the newest turn last and open
    html = client.get("/ask", params={"q": "and for assessing needs?", "conversation_id": conversation_id}).text
    assert f'name="conversation_id" value="{conversation_id}"' in html
    assert "<li>Assessing needs</li>" in html and "keep to <strong>Blackpool Council</strong>" in html
    first, second = html.split('id="turn-1"')[1].split('id="turn-2"')
    assert SAFEGUARDING in first and '<details class="turn-body">' in first  # earlier turn folded
    assert "and for assessing needs?" in second and '<details class="turn-body" open>' in second
    assert '<a class="new-question" href="#q">' in second and '<a class="new-question"' not in first


def test_ask_page_not_found_shows_possibly_related(client, service, monkeypatch):
    real = service.ask

    def unanswered(*args, **kwargs):
        return dict(real(*args, **kwargs), found=False, answer="", answer_source=None, message="")

    monkeypatch.setattr(service, "ask", unanswered)
    html = client.get("/ask", params={"q": "What colour is the town hall?"}).text
    assert "The reports don't answer that." in html and "Possibly related" in html
    assert '<blockquote' not in html
    # the service's own explanation, when it gives one, replaces the generic line
    monkeypatch.setattr(service, "ask", lambda *a, **k: dict(unanswered(*a, **k), message="Not <covered> here."))
    html = client.get("/ask", params={"q": "What colour is the town hall?"}).text
    assert "<strong>Not &lt;covered&gt; here.</strong>" in html


def test_ask_page_keeps_the_filters(client):
    html = client.get("/ask", params={"q": "rating", "council": "Lancashire County Council"}).text
    assert '<option value="Lancashire County Council" selected>' in html


def test_ask_page_escapes_the_question(client):
    q = '<script>alert("x")</script> safeguarding <b>'
    r = client.get("/ask", params={"q": q})
    assert r.status_code == 200
    assert "<script>alert" not in r.text and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in r.text
    assert "<b>" not in r.text


@pytest.mark.parametrize("params,status,fragment", [
    ({"q": ""}, 422, "empty"), ({}, 422, "empty"), ({"q": "x" * 2001}, 422, "2000"),
    ({"q": "x", "council": "Kent"}, 422, "Councils covered"), ({"q": "x", "doc": "nope"}, 404, "nope"),
])
def test_ask_page_errors_are_html_with_the_message(client, params, status, fragment):
    r = client.get("/ask", params=params)
    assert r.status_code == status and r.headers["content-type"].startswith("text/html")
    assert fragment in r.text and 'aria-invalid="true"' in r.text and '<form id="ask-form"' in r.text


def test_documents_page_lists_the_documents(client, service):
    html = client.get("/documents").text
    for d in service.documents():
        assert f'href="/documents/{d["id"]}"' in html


def test_document_page_renders_markdown_and_highlights_the_cited_passage(client):
    r = client.get(f"/documents/{BLACKPOOL}", params={"start": 4603, "end": 4633})
    assert r.status_code == 200
    html = r.text
    assert '<section id="p-4603-4633" class="cited"' in html
    cited = html.split('<section id="p-4603-4633"')[1].split("</section>")[0]
    assert re.search(r'<h3 id="s-safeguarding[-0-9]*">Safeguarding</h3>', cited) and "<p>Score: 1</p>" in cited
    assert '<a href="#p-4603-4633">Go to the cited passage</a>' in html
    assert html.count("<h1>") == 1  # the document's own headings sit one level below the page title


@pytest.mark.parametrize("path,status", [
    ("/documents/nope", 404), ("/documents/%2E%2E", 404), (f"/documents/{BLACKPOOL}?start=5", 422),
    (f"/documents/{BLACKPOOL}?start=x&end=9", 422), ("/no-such-page", 404),
])
def test_html_errors_are_pages_with_the_status(client, path, status):
    r = client.get(path)
    assert r.status_code == status and r.headers["content-type"].startswith("text/html")
    assert '<p class="error-message">' in r.text and "Traceback" not in r.text


def test_markdown_raw_html_is_not_rendered():
    from rag.render import render_document

    html = render_document('# Title\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(1)> [x](javascript:alert(1))', 0, 5)
    assert "<script>" not in html and "<img" not in html and 'href="javascript' not in html
    assert "&lt;script&gt;" in html and html.startswith('<section id="p-0-5" class="cited"')


def test_highlight_escapes_first_then_marks():
    from rag.render import highlight

    out = highlight('Safeguarding <b>score</b> & "assessment" of needs', "What score for <b> assessing needs?")
    assert out == ('Safeguarding &lt;b&gt;<mark>score</mark>&lt;/b&gt; &amp; &#34;<mark>assessment</mark>&#34; '
                   'of <mark>needs</mark>')
    assert highlight("<i>x</i>", "") == "&lt;i&gt;x&lt;/i&gt;"


def test_paragraphs_split_at_blank_lines_and_keep_the_text():
    from rag.render import paragraphs

    assert paragraphs("\n## Safeguarding\n\nScore: 1\n  \n\nline one\nline <two>\n", "score") == (
        "<p>## Safeguarding</p><p><mark>Score</mark>: 1</p><p>line one\nline &lt;two&gt;</p>")


def test_documents_do_not_reveal_server_paths(client):
    for doc in client.get("/api/documents").json()["documents"]:
        assert "path" not in doc and "/" not in doc["file"]
    one = client.get("/api/documents/lancashire-rated-requires-improvement-news").json()
    assert one["file"] == "lancashire-rated-requires-improvement-news.txt" and "path" not in one


# --- the chat page: one renderer, quotes rendered, conversations you can follow ---

def test_quotes_render_markdown_safely_with_headings_demoted():
    html = quote_html("## Safeguarding\n\n**Score: 1**\n\n---\n\n- one\n- two\n\n[How we assess](#) and "
                      "[CQC](https://www.cqc.org.uk/) <b>x</b>\n\n### Sub", 3)
    assert "<h3>Safeguarding</h3>" in html and "<h4>Sub</h4>" in html  # the slice's top heading at the level given
    assert "<strong>Score: 1</strong>" in html and "<hr />" in html and "<li>one</li>" in html
    assert "How we assess" in html and 'href="#"' not in html  # a link to nowhere is text
    assert '<a href="https://www.cqc.org.uk/">CQC</a>' in html
    assert "<b>" not in html and "&lt;b&gt;" in html
    assert 'href="javascript' not in quote_html("[bad](javascript:alert(1))")
    for mark in ("##", "**", "---", "]("):
        assert mark not in html


def test_citations_are_folded_to_a_preview_with_the_passage_rendered(client):
    html = client.get("/ask", params={"q": SAFEGUARDING}).text
    citation = html.split('id="turn-1-c1"')[1].split("</li>\n")[0]
    assert '<p class="preview"><mark>Score</mark>: 1' in citation  # the heading is the breadcrumb already
    assert '<details class="passage">' in citation and "<summary>Show passage" in citation
    assert "<h4><mark>Safeguarding</mark></h4>" in citation  # below the h3 "Citations"


def test_ask_fragment_is_the_conversation_part_only(client):
    r = client.get("/ask", params={"q": SAFEGUARDING, "fragment": 1})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert r.text.startswith('<div class="turns" id="turns"') and "<html" not in r.text and 'id="ask-form"' not in r.text
    assert 'data-count="1"' in r.text and 'id="turn-1"' in r.text
    # an error is the error page with its status, whose message the script shows
    r = client.get("/ask", params={"q": "", "fragment": 1})
    assert r.status_code == 422 and '<p class="error-message">' in r.text


def _permalink(html: str) -> str:
    return html.split('data-permalink="')[1].split('"')[0].replace("&amp;", "&")


def test_a_link_to_an_answer_shows_the_conversation_again_without_asking_again(client, service, monkeypatch):
    first = client.get("/ask", params={"q": SAFEGUARDING}).text
    cid = first.split('data-conversation-id="')[1].split('"')[0]
    second = client.get("/ask", params={"q": "and for assessing needs?", "conversation_id": cid}).text
    link = _permalink(second)
    assert link.startswith("/ask?q=and+for+assessing+needs%3F&conversation_id=") and link.endswith("&turn=2")
    asked = []
    monkeypatch.setattr(service, "ask", lambda *a, **k: asked.append(a) or {})
    again = client.get(link).text
    assert asked == [] and again.count('class="turn') - again.count('class="turn-body') - again.count('class="turns"') == 2
    assert "<li>Assessing needs</li>" in again and SAFEGUARDING in again
    # the first answer's own address shows the conversation as it was then
    one = client.get(link.replace("turn=2", "turn=1").replace("q=and+for+assessing+needs%3F", "q=" + SAFEGUARDING))
    assert asked == [] and 'id="turn-1"' in one.text and 'id="turn-2"' not in one.text


def test_the_council_scope_is_a_chip_that_can_be_removed_without_javascript(client):
    html = client.get("/ask", params={"q": SAFEGUARDING}).text
    assert '<span class="chip">Blackpool Council</span>' in html
    assert '<input type="hidden" name="clear_scope" value="1">' in html.split('class="scope-form"')[1]
    assert '<button type="submit" class="chip-remove"' in html
    cid = html.split('data-conversation-id="')[1].split('"')[0]
    html = client.get("/ask", params={"q": "", "conversation_id": cid, "clear_scope": "1"}).text
    assert "scope is removed" in html and '<span class="chip">' not in html
    assert '<input type="hidden" name="clear_scope" value="1">' in html.split('id="ask-form"')[1]
    html = client.get("/ask", params={"q": "What is the overall rating?", "conversation_id": cid,
                                      "clear_scope": "1"}).text
    latest = html.split('class="turn latest"')[1]
    assert "keep to <strong>Blackpool Council</strong>" not in latest


def test_home_page_offers_example_questions_from_the_records(client, service):
    html = client.get("/").text
    examples = re.findall(r'<a class="example" href="/ask\?q=[^"]+">([^<]+)</a>', html)
    assert 3 <= len(examples) <= 6
    short = [c["council"].replace(" County Council", "").replace(" Council", "") for c in service.councils()]
    assert all(any(name in e for name in short) for e in examples)
    assert any(e.startswith("Compare ") for e in examples)


def _app_with_token(service, token="s3cret"):
    return TestClient(create_app(service.settings.with_overrides(admin_token=token, watch_index=False),
                                 service=service))


def test_feedback_is_stored_and_readable_with_the_admin_token(service):
    c = _app_with_token(service)
    html = c.get("/ask", params={"q": SAFEGUARDING}).text
    cid = html.split('data-conversation-id="')[1].split('"')[0]
    assert '<form class="feedback-form" action="/feedback" method="post">' in html
    r = c.post("/api/feedback", json={"conversation_id": cid, "turn": 1, "verdict": "wrong", "comment": "Not <this>"})
    assert r.status_code == 200 and r.json()["question"] == SAFEGUARDING
    r = c.post("/feedback", data={"conversation_id": cid, "turn": "1", "verdict": "helpful"})  # the no-JS form
    assert r.status_code == 200 and "Thank you" in r.text and "Back to your answer" in r.text
    assert c.get("/api/feedback").status_code == 401
    assert c.get("/api/feedback", headers={"Authorization": "Bearer nope"}).status_code == 401
    got = c.get("/api/feedback", headers={"Authorization": "Bearer s3cret"}).json()["feedback"]
    assert [(f["verdict"], f["comment"], f["turn"]) for f in got[:2]] == [("helpful", "", 1), ("wrong", "Not <this>", 1)]


def test_feedback_on_an_answer_asked_through_the_api(client):
    first = client.post("/api/ask", json={"question": SAFEGUARDING}).json()
    then = client.post("/api/ask", json={"question": "why so low?", "conversation_id": first["conversation_id"]}).json()
    assert (first["turn"], then["turn"]) == (1, 2) and then["conversation_id"] == first["conversation_id"]
    r = client.post("/api/feedback", json={"conversation_id": then["conversation_id"], "turn": then["turn"],
                                           "verdict": "helpful"})
    assert r.status_code == 200 and r.json()["question"] == "why so low?"


@pytest.mark.parametrize("body,status,fragment", [
    ({"conversation_id": "nope", "turn": 1, "verdict": "wrong"}, 404, "no answer 1"),
    ({"conversation_id": "nope", "turn": 1, "verdict": "meh"}, 422, "verdict"),
    ({"conversation_id": "nope", "turn": 0, "verdict": "wrong"}, 422, "turn"),
    ({"conversation_id": "nope", "turn": 1, "verdict": "wrong", "comment": "x" * 2001}, 422, "comment"),
    ({"turn": 1, "verdict": "wrong"}, 422, "conversation_id"),
])
def test_feedback_errors_say_what_to_change(client, body, status, fragment):
    r = client.post("/api/feedback", json=body)
    assert r.status_code == status and fragment in r.json()["detail"]


@pytest.mark.parametrize("data,fragment", [({"conversation_id": "x", "turn": "one", "verdict": "wrong"}, "turn"),
                                           ({"conversation_id": "x", "turn": "1"}, "helpful or wrong")])
def test_feedback_form_errors_are_pages(client, data, fragment):
    r = client.post("/feedback", data=data)
    assert r.status_code == 422 and fragment in r.text and r.headers["content-type"].startswith("text/html")


def test_feedback_list_is_not_there_without_a_token(client):
    assert client.get("/api/feedback").status_code == 404


# --- composed answers: rendered from the reply's fields (a hand-built reply, as the lead's fields land later) ---

def _turn_html(turn: dict) -> str:
    from rag.render import templates

    macro = templates.env.get_template("_turn.html").module.turn_view
    return str(macro(turn, 1, True))


COMPOSED = {"question": "Compare Blackpool and Lancashire", "found": True, "message": "", "answer_source": None,
            "fact": None, "citations": [], "council": None, "conversation_id": "c1", "mode": "hybrid"}


def test_records_answer_is_plain_statements_with_sources_not_a_quote():
    html = _turn_html(dict(COMPOSED, answer_kind="records", answer="**Blackpool** is rated Inadequate.",
                           answer_plain="Blackpool is rated Inadequate.", records=[
                               {"summary": "Blackpool Council: rated Inadequate.",
                                "source": {"doc": BLACKPOOL, "title": "Blackpool report", "section": "Overall",
                                           "start": 10, "end": 20, "text": "..."}}]))
    assert "<blockquote" not in html and '<p class="statement">Blackpool is rated Inadequate.</p>' in html
    assert "**" not in html
    assert "<li>Blackpool Council: rated Inadequate. " in html
    assert f'href="{escape(passage_url(BLACKPOOL, 10, 20))}">Source<span class="visually-hidden">: Blackpool report' in html


def test_table_answer_is_an_accessible_table():
    table = {"caption": "Overall rating: Blackpool and Lancashire", "columns": ["Council", "Overall rating"],
             "rows": [{"header": "Blackpool Council", "cells": [{"text": "Inadequate",
                                                                 "source": {"doc": BLACKPOOL, "start": 1, "end": 9}}]},
                      {"header": "Lancashire County Council", "cells": [{"text": "Requires improvement",
                                                                         "source": None}]}]}
    html = _turn_html(dict(COMPOSED, answer_kind="records", answer="Blackpool and Lancashire compared.", table=table))
    assert '<caption id="turn-1-table">Overall rating: Blackpool and Lancashire</caption>' in html
    assert '<th scope="col">Council</th><th scope="col">Overall rating</th>' in html
    assert '<th scope="row">Blackpool Council</th>' in html and '<th scope="row">Lancashire County Council</th>' in html
    assert f'<td data-label="Overall rating"><a href="{escape(passage_url(BLACKPOOL, 1, 9))}">Inadequate' in html
    assert '<td data-label="Overall rating">Requires improvement</td>' in html and "<blockquote" not in html
    assert "Blackpool and Lancashire compared." not in html  # the table is the answer


def test_quotes_answer_quotes_each_passage_rendered():
    html = _turn_html(dict(COMPOSED, answer_kind="quotes", answer="What the report says Blackpool does well.",
                           quotes=[{"text": "### Strengths\n\n**Good** partnership [work](#)", "doc": BLACKPOOL,
                                    "title": "Blackpool report", "section": "Partnerships", "start": 5, "end": 50,
                                    "council": "Blackpool Council", "label": "Blackpool Council — Partnerships"}]))
    assert '<figcaption>Blackpool Council — Partnerships</figcaption>' in html
    assert "<h3>Strengths</h3>" in html and "<strong>Good</strong>" in html and "###" not in html and "](" not in html
    assert f'href="{escape(passage_url(BLACKPOOL, 5, 50))}">View in report' in html


def test_a_citation_from_a_pdf_links_its_pages_in_the_original():
    cite = {"text": "Waiting lists fell.", "doc": BLACKPOOL, "title": "Report", "section": "", "section_path": [],
            "councils": [], "start": 1, "end": 20, "pages": [12, 13]}
    html = _turn_html(dict(COMPOSED, answer_kind="none", found=False, citations=[cite]))
    assert f'<a class="original" href="/documents/{BLACKPOOL}/original#page=12">p. 12–13' in html


def test_quote_answer_label_and_searched_for():
    html = _turn_html(dict(COMPOSED, answer_kind="quote", answer="## Safeguarding\n\nScore: 1",
                           answer_label="Blackpool Council — Safeguarding", searched_for="blackpool safeguarding"))
    assert "Blackpool Council — Safeguarding. The report says:" in html
    assert "Showing results for: <strong>blackpool safeguarding</strong>" in html
    assert "<h3>Safeguarding</h3>" in html


def test_a_comparison_is_rendered_as_a_table(client):
    html = client.get("/ask", params={"q": "Compare Blackpool and Lancashire"}).text
    latest = html.split('class="turn latest"')[1]
    assert '<table class="answer-table stack">' in latest and '<caption id="turn-1-table">' in latest
    assert '<th scope="row">Blackpool Council</th>' in latest and '<th scope="row">Lancashire County Council</th>' in latest
    assert "<blockquote" not in latest.split("</table>")[0]


# --- councils, report pages, accessibility statement ---

def test_councils_page_links_every_value_and_explains_indicative(client, service):
    html = client.get("/councils").text
    assert 'id="indicative"' in html and 'href="#indicative">indicative</a>' in html
    assert "not stated" not in html.lower().replace("no score for each statement", "")
    # what the Lancashire article states ("requires improvement" across all nine areas), not "not stated"
    assert "9 scored 2<span" in html
    for c in service.councils():
        row = html.split(f'<a href="/councils/{c["slug"]}">')[1].split("</tr>")[0]
        assert row.count('href="/documents/') >= 1, c["council"]
    assert "##" not in html and "**" not in html


def test_council_page_links_each_score_to_its_passage(client):
    html = client.get("/councils/blackpool").text
    assert html.count('<td data-label="Score"><a href="/documents/') == 9
    assert "##" not in html


def test_report_page_has_contents_from_the_section_tree(client):
    html = client.get(f"/documents/{BLACKPOOL}").text
    toc = html.split('<nav class="toc"')[1].split("</nav>")[0]
    anchors = re.findall(r'<a href="#(s-[a-z0-9-]+)">', toc)
    assert len(anchors) > 20 and len(set(anchors)) == len(anchors)
    assert all(f'id="{a}"' in html for a in anchors)
    assert 'id="back-to-answer"' in html


def test_every_page_links_the_accessibility_statement(client):
    for path in ("/", "/councils", "/documents", "/docs", "/nope"):
        assert '<a href="/accessibility">Accessibility statement</a>' in client.get(path).text
    html = client.get("/accessibility").text
    assert "WCAG" in html and "2.2" in html and "Known gaps" in html and "Reporting a problem" in html


def test_feedback_store_keeps_at_most_its_limit():
    from rag.feedback import FeedbackStore

    store = FeedbackStore(max_feedback=3)
    store.add_turn("c", {"question": "q", "answer": "a"})
    for i in range(5):
        store.add_feedback("c", 1, "helpful", f"comment {i}")
    assert [f["comment"] for f in store.feedback()] == ["comment 4", "comment 3", "comment 2"]


def test_kept_turns_expire_with_the_conversation():
    from rag.feedback import FeedbackStore

    now = [1000.0]
    store = FeedbackStore(max_age=60, clock=lambda: now[0])
    assert store.add_turn("c", {"question": "q1"}) == 1 and store.add_turn("c", {"question": "q2"}) == 2
    assert [n for n, _ in store.turns("c", upto=1)] == [1]
    now[0] += 61
    assert store.turns("c") == []


def test_the_page_says_when_a_conversation_has_ended(client):
    html = client.get("/ask", params={"q": SAFEGUARDING, "conversation_id": "long-gone"}).text
    assert 'class="notice"' in html and "That conversation has ended" in html


def test_the_page_title_is_short_and_says_what_was_asked(client):
    blank = client.get("/ask", params={"q": "   "}).text
    assert "<title>Error: no question – CQC assessments</title>" in blank
    long = client.get("/ask", params={"q": "x" * 2001}).text
    title = long.split("<title>")[1].split("</title>")[0]
    assert title.startswith("Error: ") and len(title) < 120
