"""The shipped Markdown report as people save it: a CQC-style web page (with the site's cookie banner,
navigation, breadcrumbs, search form, "Was this page helpful?" and footer around it) and that page
printed to PDF by headless Chromium (with Chromium's running header and footer: date, title, file
address and "n/N" page numbers on every page), or, without Chromium, a PDF built with a library.

Used by tests/test_formats.py and tests/test_upload.py; made in a temporary folder, never committed.
"""
from __future__ import annotations

import html
import os
import subprocess
from pathlib import Path

from markdown_it import MarkdownIt

from tests.conftest import BLACKPOOL_REPORT

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
STEM = BLACKPOOL_REPORT.stem

# Text that appears only in the site's boilerplate: none of it may reach a passage.
BOILERPLATE = (
    "Cookies on the CQC website", "Accept additional cookies", "Skip to main content",
    "Find and compare services", "Guidance for providers", "Search the CQC website",
    "Local authority assessments", "Was this page helpful?", "Report a problem with this page",
    "Privacy notice", "Accessibility statement", "Sign up to our newsletter", "© Care Quality Commission",
)

_STYLE = """
body { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 16px; line-height: 1.4; margin: 0; }
.cookie-banner { background: #eee; padding: 8px; } .site-header { padding: 8px; border-bottom: 4px solid #333; }
.breadcrumbs ol { list-style: none; display: flex; gap: 8px; padding: 0; } main { padding: 0 24px; }
.feedback { border-top: 1px solid #999; } footer { background: #333; color: #fff; padding: 8px; }
@media print {  /* as the site's print stylesheet does: the report alone on paper */
  .cookie-banner, .skip-link, .site-header, .breadcrumbs, .feedback, .site-footer { display: none; }
}
"""


def report_html(markdown: str | None = None, title: str = "Blackpool Council: local authority assessment") -> str:
    """The report rendered to a page inside the site's boilerplate, as a browser saves it."""
    body = MarkdownIt("commonmark", {"html": False}).render(markdown or BLACKPOOL_REPORT.read_text(encoding="utf-8"))
    t = html.escape(title)
    return f"""<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<title>{t} - Care Quality Commission</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>{_STYLE}</style>
<script>window.dataLayer = window.dataLayer || []; function gtag(){{dataLayer.push(arguments);}}</script>
</head>
<body class="path-care-services">
<div id="cookie-banner" class="cookie-banner" role="region" aria-label="Cookies on the CQC website">
  <h2>Cookies on the CQC website</h2>
  <p>We use some essential cookies to make this website work. We'd like to set additional cookies to
  understand how you use the website and to improve our services.</p>
  <button type="button">Accept additional cookies</button> <button type="button">Reject additional cookies</button>
  <a href="/about-us/our-policies/privacy-statement">View cookies</a>
</div>
<a class="skip-link" href="#main-content">Skip to main content</a>
<header class="site-header" role="banner">
  <a class="logo" href="/">Care Quality Commission</a>
  <form class="search" role="search" action="/search"><label for="q">Search the CQC website</label>
    <input id="q" name="q" type="search"><button type="submit">Search</button></form>
  <nav class="main-nav" aria-label="Main menu"><ul>
    <li><a href="/search/all">Find and compare services</a></li>
    <li><a href="/guidance-regulation">Guidance for providers</a></li>
    <li><a href="/publications">Publications</a></li>
    <li><a href="/news">News</a></li><li><a href="/about-us">About us</a></li>
  </ul></nav>
</header>
<div class="breadcrumbs"><nav aria-label="Breadcrumb"><ol>
  <li><a href="/">Home</a></li><li><a href="/care-services">Care services</a></li>
  <li><a href="/local-authority-assessments">Local authority assessments</a></li>
  <li>Blackpool Council</li></ol></nav></div>
<main id="main-content" class="main">
<article class="la-assessment">
{body}
</article>
<section class="feedback" aria-labelledby="feedback-title">
  <h2 id="feedback-title">Was this page helpful?</h2>
  <form action="/feedback" method="post"><button name="helpful" value="yes">Yes</button>
    <button name="helpful" value="no">No</button></form>
  <p><a href="/contact-us/report-problem">Report a problem with this page</a></p>
</section>
</main>
<footer class="site-footer" role="contentinfo">
  <h2 class="visually-hidden">Support links</h2>
  <ul><li><a href="/privacy">Privacy notice</a></li><li><a href="/accessibility">Accessibility statement</a></li>
  <li><a href="/newsletter">Sign up to our newsletter</a></li></ul>
  <p>© Care Quality Commission</p>
</footer>
<script src="/themes/cqc/js/site.js"></script>
</body>
</html>
"""


def write_html(folder: Path, markdown: str | None = None, name: str = STEM, title: str | None = None) -> Path:
    path = folder / f"{name}.html"
    path.write_text(report_html(markdown, **({"title": title} if title else {})), encoding="utf-8")
    return path


def print_pdf(page: Path, out: Path) -> Path:
    """The page printed to PDF by headless Chromium, with its running header and footer."""
    subprocess.run([str(CHROMIUM), "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={out.parent / '.chromium-profile'}",
                    f"--print-to-pdf={out}", page.resolve().as_uri()],
                   check=True, capture_output=True, timeout=180)
    if not out.is_file() or out.stat().st_size == 0:
        raise RuntimeError(f"Chromium wrote no PDF for {page}")
    return out
