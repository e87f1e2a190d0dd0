"""Checks on the page's source that need no browser."""

from __future__ import annotations

import re
from pathlib import Path

PAGE = Path(__file__).resolve().parents[2] / "backend" / "papershelf" / "library_page"


def _sources():
    files = sorted(PAGE.rglob("*.js")) + [PAGE / "index.html"]
    assert len(files) > 5
    return {f.relative_to(PAGE).as_posix(): f.read_text(encoding="utf-8") for f in files}


def test_no_html_parsing_sinks_and_no_eval():
    """Text from the web reaches the DOM through textContent only; the backend's CSP
    (script-src 'self') forbids eval, so the page must not need it."""
    banned = re.compile(r"\.innerHTML\s*=|\.outerHTML\s*=|insertAdjacentHTML|document\.write|"
                        r"\beval\s*\(|new\s+Function\s*\(|setTimeout\(\s*['\"]|createContextualFragment")
    hits = [(name, m.group(0)) for name, text in _sources().items() for m in banned.finditer(text)]
    assert not hits, hits


def test_no_inline_scripts_or_handlers_in_the_html():
    html = (PAGE / "index.html").read_text(encoding="utf-8")
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline <script>"
    assert not re.search(r"\son[a-z]+\s*=", html), "inline event handler"
    assert re.search(r'<script type="module" src="js/main.js">', html)


def test_every_module_import_resolves():
    sources = _sources()
    for name, text in sources.items():
        for target in re.findall(r'from\s+"(\./[^"]+)"', text):
            resolved = (PAGE / name).parent / target
            assert resolved.exists(), f"{name} imports missing {target}"
