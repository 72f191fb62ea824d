"""End to end in a real headless Chromium: `rag serve` on a free port, a conversation had as a person would
(ask, follow a citation into its report and back, follow up, fold and unfold, copy the link and open it, Back,
remove the council scope, send feedback); axe-core finds no violations on each page and state at 1280 px,
390 px and 200 % zoom, and no raw Markdown marks show; screenshots go to artifacts/.

Needs Debian's chromium (/usr/bin/chromium), the playwright package and axe-core installed with npm
(`make axe`). Without them the test is skipped, unless REQUIRE_BROWSER=1 (as in CI), when it fails.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from rag.config import PROJECT_ROOT
from tests.conftest import rag_env

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
AXE = PROJECT_ROOT / ".cache" / "npm" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = PROJECT_ROOT / "artifacts"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# How long an expectation waits for the page: an answer takes well under a second on a quiet machine, but
# a test must not depend on the machine's speed (a busy CI host answered a comparison after Playwright's 5 s).
EXPECT_TIMEOUT_MS = 30_000
QUESTION = "What score did Blackpool get for safeguarding?"
FOLLOW_UP = "and for assessing needs?"


def _missing() -> list[str]:
    missing = []
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright package (pip install -e '.[test]')")
    if not CHROMIUM.exists():
        missing.append(f"Chromium at {CHROMIUM} (apt-get install chromium)")
    if not AXE.exists():
        missing.append(f"axe-core at {AXE.relative_to(PROJECT_ROOT)} (make axe)")
    return missing


MISSING = _missing()
REQUIRED = os.environ.get("REQUIRE_BROWSER") == "1"
if MISSING and not REQUIRED:  # at once, before the session's index is built for nothing
    pytest.skip("The browser test needs " + "; ".join(MISSING), allow_module_level=True)


@pytest.fixture(scope="module")
def browser():
    if MISSING:
        pytest.fail("The browser test needs " + "; ".join(MISSING) + " (REQUIRE_BROWSER=1)", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


ADMIN_TOKEN = "browser-test-token"


@contextlib.contextmanager
def rag_serve(index_dir, log: Path, env: dict):
    """`rag serve` on this index; its URL once /healthz answers; stopped on leaving."""
    port = _free_port()
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "rag.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
                                 "--index-dir", str(index_dir), "-q"], cwd=PROJECT_ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                pytest.fail(f"rag serve exited with {proc.returncode}:\n{log.read_text()}", pytrace=False)
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"rag serve did not answer /healthz in time:\n{log.read_text()}", pytrace=False)
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def server(built_index, browser, tmp_path_factory):
    """`rag serve` on the session's index; its URL once /healthz answers."""
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with rag_serve(built_index.index_dir, log, dict(rag_env(), RAG_ADMIN_TOKEN=ADMIN_TOKEN)) as url:
        yield url


def axe_violations(page) -> list[str]:
    """axe-core's full default rule set (WCAG 2.0-2.2 A and AA and best practices) on the page as it is."""
    # Evaluated through the DevTools protocol, which the page's CSP does not govern (add_script_tag
    # would need bypass_csp, and then the page's own script would not be tested under its real CSP).
    page.evaluate(AXE.read_text(encoding="utf-8"))
    violations = page.evaluate("""async () => (await axe.run(document)).violations.map(v =>
        `${v.id} (${v.impact}): ${v.help}: ` + v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(", "))""")
    return violations


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth <= document.documentElement.clientWidth")


RAW_MARKS = ("##", "**", "---", "](")


def raw_marks(page, selector: str = "main") -> list[str]:
    """Markdown marks left in the text of the page's `selector` (hidden text included: folded passages too)."""
    text = page.eval_on_selector(selector, "e => e.textContent")
    return [m for m in RAW_MARKS if m in text]


def check_page(page, name: str) -> None:
    """axe-core finds nothing, nothing scrolls sideways, no raw Markdown shows; a screenshot for the record."""
    assert axe_violations(page) == [], name
    assert no_horizontal_scroll(page), name
    assert raw_marks(page) == [], name
    page.screenshot(path=ARTIFACTS / f"{name}.png")


def feedback_list(server: str) -> list[dict]:
    request = urllib.request.Request(server + "/api/feedback", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as r:
        return json.loads(r.read())["feedback"]


@pytest.mark.parametrize("width,height", [(1280, 800), (390, 844)], ids=["desktop", "phone"])
def test_a_conversation_in_the_browser(browser, server, width, height):
    """Ask, follow a citation and come back, follow up, fold and unfold, copy the link and open it, Back,
    remove the council scope, send feedback: each step's outcome checked, axe-core on each state."""
    from playwright.sync_api import expect

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)

    ARTIFACTS.mkdir(exist_ok=True)
    # No bypass_csp: the page's own script must work under its real Content-Security-Policy (a violation
    # is a console error, and there must be none).
    context = browser.new_context(viewport={"width": width, "height": height})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    try:
        page.goto(server + "/")
        expect(page.locator("a.example").first).to_be_visible()
        check_page(page, f"home-{width}")
        page.screenshot(path=ARTIFACTS / f"home-{width}-full.png", full_page=True)

        # Keyboard only: the skip link comes first, then the question box.
        page.keyboard.press("Tab")
        expect(page.locator(".skip-link")).to_be_focused()
        page.keyboard.press("Enter")
        page.keyboard.press("Tab")
        expect(page.locator("#q")).to_be_focused()
        page.evaluate("() => { window.notReloaded = true; }")
        page.keyboard.type(QUESTION)
        page.keyboard.press("Enter")

        turn = page.locator("#turn-1")
        expect(turn.locator(".citation").first).to_be_visible()
        assert page.evaluate("() => window.notReloaded === true"), "the answer should arrive without a reload"
        expect(page.locator("#status")).to_contain_text("Answer added above")
        expect(turn.locator(".question")).to_be_focused()
        expect(page).to_have_url(re.compile(r"/ask\?q=What\+score.*&conversation_id=[\w-]+&turn=1$"))
        assert 1 <= turn.locator(".citation").count() <= 5
        safeguarding = turn.locator(".citation").filter(has=page.locator(".breadcrumb li", has_text="Safeguarding")).first
        expect(safeguarding).to_be_visible()
        expect(turn.locator("blockquote.quote")).to_contain_text("Score: 1")
        expect(turn.locator("blockquote.quote h3")).to_have_text("Safeguarding")  # rendered, not "## Safeguarding"
        conversation_id = page.input_value("input[name=conversation_id]")
        assert len(conversation_id) > 10
        # the scope of the conversation, as a chip by the question box
        expect(page.locator("#scope .chip")).to_have_text("Blackpool Council")
        # citations folded to their first line; "show passage" unfolds one
        passage = safeguarding.locator(".passage-text")
        expect(passage).to_be_hidden()
        safeguarding.locator("details.passage > summary").click()
        expect(passage).to_be_visible()
        assert passage.locator("mark").count() >= 1
        turn.locator(".question").focus()
        # "Ask another question", a few Tab presses from the new answer's heading, goes back to the box
        for presses in range(1, 7):
            page.keyboard.press("Tab")
            if page.evaluate("() => document.activeElement.classList.contains('new-question')"):
                break
        assert page.evaluate("() => document.activeElement.classList.contains('new-question')"), "over 6 Tabs"
        page.keyboard.press("Enter")
        expect(page.locator("#q")).to_be_focused()
        turn.evaluate("e => e.scrollIntoView()")
        check_page(page, f"answer-{width}")

        # "View in report": the document, scrolled to the cited passage, which is highlighted.
        link = safeguarding.locator("a.view")
        href = link.get_attribute("href")
        start, end = href.split("#p-")[1].split("-")
        link.click()
        page.wait_for_url("**/documents/**")
        cited = page.locator(f"section.cited#p-{start}-{end}")
        expect(cited).to_be_in_viewport()
        expect(cited).to_contain_text("Safeguarding")
        assert cited.evaluate("e => getComputedStyle(e).backgroundColor") != "rgba(0, 0, 0, 0)"
        expect(page.locator("nav.toc a").first).to_be_attached()
        check_page(page, f"document-{width}")
        # "Back to your answer" shows the conversation again, from the server (no question asked again)
        back = page.locator("#back-to-answer")
        expect(back).to_be_visible()
        back.click()
        page.wait_for_url("**/ask?**turn=1")
        expect(page.locator("#turn-1 .citation").first).to_be_visible()
        expect(page.locator(".turn")).to_have_count(1)
        assert page.input_value("input[name=conversation_id]") == conversation_id

        # A follow-up: the newest turn last and open, the earlier one folded.
        page.locator("#q").fill(FOLLOW_UP)
        page.locator("#q").press("Enter")
        second = page.locator("#turn-2")
        expect(second.locator(".citation").first).to_be_visible()
        expect(page.locator(".turn")).to_have_count(2)
        expect(second.locator(".question")).to_contain_text(FOLLOW_UP)
        expect(second.locator(".question")).to_be_focused()
        expect(second.locator(".breadcrumb li", has_text="Assessing needs").first).to_be_visible()
        expect(second.locator(".context")).to_contain_text("Blackpool")
        expect(page).to_have_url(re.compile(r"&turn=2$"))
        assert page.input_value("input[name=conversation_id]") == conversation_id
        first_answer = page.locator("#turn-1 .answer")
        expect(first_answer).to_be_hidden()
        page.locator("#turn-1 .turn-body > summary").click()  # expand the earlier turn
        expect(first_answer).to_be_visible()
        page.locator("#turn-1 .turn-body > summary").click()  # and fold it again
        expect(first_answer).to_be_hidden()
        page.locator("#turn-1").evaluate("e => e.scrollIntoView()")
        page.screenshot(path=ARTIFACTS / f"readme-{width}.png")  # the README's docs/screenshot.png at 1280
        second.evaluate("e => e.scrollIntoView()")
        check_page(page, f"follow-up-{width}")
        page.screenshot(path=ARTIFACTS / f"conversation-{width}-full.png", full_page=True)

        # Copy the link, open it in a new page: the same conversation.
        page.locator("#copy-link").click()
        expect(page.locator("#status")).to_contain_text("/ask?")
        copied = re.search(r"(http://\S+)", page.locator("#status").inner_text()).group(1)
        assert copied == page.url
        other = context.new_page()
        other.goto(copied)
        expect(other.locator(".turn")).to_have_count(2)
        assert other.locator(".question").all_inner_texts() == page.locator(".question").all_inner_texts()
        other.close()

        # Back: the conversation as it was at the first answer; Forward: both again.
        page.go_back()
        expect(page.locator(".turn")).to_have_count(1)
        expect(page).to_have_url(re.compile(r"&turn=1$"))
        page.go_forward()
        expect(page.locator(".turn")).to_have_count(2)

        # Feedback on the newest answer, stored on the server.
        box = second.locator("details.feedback")
        box.locator("summary").click()
        box.get_by_label("Wrong").check()
        box.get_by_label("Comment (optional)").fill(f"browser test at {width} px")
        box.get_by_role("button", name="Send feedback").click()
        expect(box.locator(".feedback-status")).to_contain_text("Thank you")
        stored = [f for f in feedback_list(server) if f["comment"] == f"browser test at {width} px"]
        assert [(f["verdict"], f["turn"], f["question"]) for f in stored] == [("wrong", 2, FOLLOW_UP)]

        # Remove the council scope: the chip goes and the next question is not kept to Blackpool.
        page.locator("#scope .chip-remove").click()
        expect(page.locator("#scope")).to_have_count(0)
        expect(page.locator("#status")).to_contain_text("scope is removed")
        expect(page.locator("#q")).to_be_focused()
        page.locator("#q").fill("Which councils were rated good?")
        page.locator("#q").press("Enter")
        latest = page.locator(".turn.latest")
        expect(latest.locator(".question")).to_contain_text("Which councils were rated good?")
        expect(latest.locator(".context", has_text="Blackpool")).to_have_count(0)
        check_page(page, f"scope-removed-{width}")

        # A comparison: an accessible table (caption, header cells with scope), each value linked to its passage.
        page.locator("#q").fill("Compare Blackpool and Lancashire")
        page.locator("#q").press("Enter")
        table = page.locator(".turn.latest table.answer-table")
        expect(table.locator("caption")).to_contain_text("Blackpool")
        assert table.locator("thead th[scope=col]").count() >= 2
        expect(table.locator("tbody th[scope=row]")).to_have_text(["Blackpool Council", "Lancashire County Council"])
        assert table.locator("td a[href^='/documents/']").count() >= 2
        expect(page.locator("#scope .chip")).to_have_text(["Blackpool Council", "Lancashire County Council"])
        page.locator(".turn.latest").evaluate("e => e.scrollIntoView()")
        check_page(page, f"compare-{width}")

        for path in ("/councils", "/councils/blackpool", "/councils/lancashire", "/accessibility"):
            page.goto(server + path)
            check_page(page, f"{path.strip('/').replace('/', '-')}-{width}")
        assert errors == []
    finally:
        context.close()


def test_without_javascript_the_form_still_answers(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(server + "/")
        page.fill("#q", QUESTION)
        page.press("#q", "Enter")
        page.wait_for_url("**/ask?**")
        assert page.locator("#turn-1 .breadcrumb li", has_text="Safeguarding").count() >= 1
        conversation_id = page.input_value("input[name=conversation_id]")
        assert conversation_id
        page.fill("#q", FOLLOW_UP)
        page.press("#q", "Enter")
        page.wait_for_url(f"**conversation_id={conversation_id}**")
        assert page.locator(".turn").count() == 2
        assert page.locator("#turn-2 .breadcrumb li", has_text="Assessing needs").count() >= 1
        assert "Blackpool" in page.inner_text("#turn-2 .context")
        # the link to the answer shows the same conversation
        page.click(".permalink a")
        assert page.locator(".turn").count() == 2
        # removing the scope without JavaScript: the chip's button sends the form
        page.click("#scope .chip-remove")
        assert "scope is removed" in page.inner_text("#conversation")
        assert page.locator("#scope").count() == 0
        # feedback without JavaScript: the form posts to /feedback
        page.click("#turn-2 details.feedback summary")
        page.check("#turn-2-helpful")
        page.click("#turn-2 .feedback-form button")
        assert "Thank you" in page.inner_text("h1")
        page.click("text=Back to your answer")
        assert page.locator(".turn").count() == 2
    finally:
        context.close()


@pytest.mark.parametrize("path", ["/", "/documents", "/docs", "/documents/no-such-report", "/ask?q=", "/councils",
                                  "/councils/blackpool", "/councils/nottingham", "/councils/lancashire",
                                  "/accessibility",
                                  "/documents/blackpool-council-local-authority-assessment-2025-08-06?start=4603&end=4633"])
def test_other_pages_are_accessible_and_reflow_at_200_percent_zoom(browser, server, path):
    # 640 x 400 CSS pixels is what a 1280 x 800 window shows at 200 % zoom
    context = browser.new_context(viewport={"width": 640, "height": 400}, device_scale_factor=2)
    page = context.new_page()
    try:
        page.goto(server + path)
        assert axe_violations(page) == []
        assert no_horizontal_scroll(page)
        assert raw_marks(page) == []
    finally:
        context.close()


def test_answer_page_reflows_at_200_percent_zoom(browser, server):
    context = browser.new_context(viewport={"width": 640, "height": 400}, device_scale_factor=2)
    page = context.new_page()
    try:
        page.goto(server + "/ask?" + urllib.parse.urlencode({"q": QUESTION}))
        assert page.locator("#turn-1 .citation").count() >= 1
        page.locator("#turn-1 details.passage > summary").first.click()
        assert axe_violations(page) == []
        assert no_horizontal_scroll(page)
        assert raw_marks(page) == []
        page.screenshot(path=ARTIFACTS / "answer-200-percent.png")
        page.goto(server + page.locator("#turn-1 a.view").first.get_attribute("href"))
        assert no_horizontal_scroll(page)
    finally:
        context.close()


def test_add_a_report_from_the_page_and_ask_about_it(browser, small_index, tmp_path):
    """An admin uploads a PDF on the "Add a report" page, the page follows the indexing until the new
    build serves, and a question about the new report is answered from it, cited by page."""
    from playwright.sync_api import expect

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)

    from tests.report_fixtures import print_pdf, write_html
    from tests.test_upload import KENT, TOKEN

    pdf = print_pdf(write_html(tmp_path, KENT, name="kent-county-council-assessment",
                               title="Kent County Council: local authority assessment"),
                    tmp_path / "Kent County Council assessment.pdf")
    with rag_serve(small_index.index_dir, tmp_path / "serve.log",
                   rag_env(RAG_ADMIN_TOKEN=TOKEN, RAG_CORPUS_DIR=small_index.corpus_dir)) as url:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        try:
            page.goto(url + "/documents")
            page.get_by_role("link", name="Add a report").click()
            page.wait_for_url("**/add-report")
            assert axe_violations(page) == []
            page.get_by_label("Report file").set_input_files(str(pdf))
            page.get_by_label("Admin token").fill(TOKEN)
            page.get_by_role("button", name="Add the report").click()
            page.wait_for_url("**/add-report/*")
            expect(page.locator(".upload-status")).to_contain_text("Added and now answering questions.", timeout=180_000)
            assert axe_violations(page) == []
            page.screenshot(path=ARTIFACTS / "report-added.png", full_page=True)

            page.get_by_role("link", name="ask a question about it").click()
            page.locator("#q").fill("What did the zebrafish garden project do in Kent?")
            page.locator("#q").press("Enter")
            turn = page.locator("#turn-1")
            expect(turn.locator(".citation").first).to_contain_text("zebrafish")
            expect(turn.locator(".citation").first.locator("a.original")).to_have_text("p. 1 of the original PDF")
            href = turn.locator(".citation").first.locator("a.original").get_attribute("href")
            assert href == "/documents/kent-county-council-assessment/original#page=1"
            with urllib.request.urlopen(url + href.split("#")[0], timeout=10) as r:
                assert r.headers["Content-Type"] == "application/pdf" and r.read() == pdf.read_bytes()
        finally:
            context.close()
