"""Script and HTML payloads, a listing page that carries them, and a detector.

Every payload that runs does three things: it appends ``"<run>:<name>"`` to ``top.__pwn``
(the flag), calls the sink server (``/hit/<run>/<name>``) and fetches
``https://beacon.papershelf.test/<run>/<name>`` (answered by the test's request routing).
A payload that only injects markup carries a ``data-pwn`` attribute, and CSS payloads load
a background image from the sink, so HTML and CSS injection show even where no script
runs. ``SCAN_JS`` looks at a page for any of that.

Each payload also names the *unsafe* way of inserting it that makes it run (``how``): the
positive control inserts it that way and must see the flag or the beacon.
"""

from __future__ import annotations

import copy
import html as htmllib
import json
import re
from dataclasses import dataclass
from pathlib import Path

BEACON_HOST = "beacon.papershelf.test"


@dataclass
class Payload:
    name: str
    text: str
    how: str  # "html" (parsed into the page), "markup" (the same, no script: shows as a
    #           data-pwn element), "attr2"/"attr1" (inside a "…"/'…' attribute), "url"
    #           (an <a href> clicked), "style" (a style attribute), "template" (a JS
    #           template literal), "entities" (HTML decoded once, then innerHTML), "none"
    beacon: bool = True  # False: too short for a beacon (tags), only the flag


class Payloads:
    def __init__(self, run: str, sink):
        self.run = run
        self.sink = sink

    def js(self, name: str) -> str:
        """The code a payload runs: beacon first (works from frames too), then the flag."""
        # One expression (commas): it must also work inside ${...} and javascript: URLs.
        return (f"(new Image().src=`{self.sink.url(self.run, name)}`,"
                f"fetch(`https://{BEACON_HOST}/{self.run}/{name}`,{{mode:`no-cors`}}).catch(()=>0),"
                f"top.__pwn=(top.__pwn||[]).concat([`{self.run}:{name}`]),void 0)")

    def all(self) -> dict[str, Payload]:
        J = self.js
        sink = self.sink.url
        r = self.run
        items = [
            Payload("img", f'<img src=x onerror="{J("img")}" data-pwn>', "html"),
            Payload("script", f"<script data-pwn>{J('script')}</script>", "html"),
            Payload("svg", f'"><svg onload="{J("svg")}" data-pwn>', "attr2"),
            Payload("svg1", f"'><svg onload=\"{J('svg1')}\" data-pwn>", "attr1"),
            Payload("details", f'<details open ontoggle="{J("details")}" data-pwn></details>', "html"),
            Payload("iframe", f'<iframe data-pwn srcdoc="&lt;script&gt;{J("iframe")}&lt;/script&gt;"></iframe>', "html"),
            Payload("entity", f'&lt;img src=x onerror="{J("entity")}" data-pwn&gt;', "entities"),
            Payload("jsurl", f"javascript:{J('jsurl')}", "url"),
            Payload("jsurl2", f" JaVaScRiPt:{J('jsurl2')}", "url"),
            Payload("template", "${" + J("template") + "}", "template"),
            Payload("angular", "{{constructor.constructor(`" + J("angular") + "`)()}}", "none"),
            Payload("csstag", f"</style><style data-pwn>body{{background-image:url({sink(r, 'csstag')})}}</style>", "html"),
            Payload("cssattr", f"red;background-image:url({sink(r, 'cssattr')})", "style"),
            Payload("rtl", "\u202e\u2066gnp.exe\u2069 \u202bRTL override\u202c title", "none", beacon=False),
        ]
        return {p.name: p for p in items}

    # Tags: at most 100 characters, no commas, no "//" (an empty level): the flag only.
    def tags(self) -> list[Payload]:
        r = self.run

        def flag(name: str) -> str:
            return f"top.__pwn=[].concat(top.__pwn||[]).concat(`{r}:{name}`)"  # no comma in a tag
        return [
            Payload("tag-img", f"<img src=x onerror={flag('tag-img')} data-pwn>", "html", False),
            Payload("tag-svg", f'"><svg onload={flag("tag-svg")} data-pwn>', "attr2", False),
            Payload("tag-jsurl", f"javascript:{flag('tag-jsurl')}", "url", False),
            Payload("tag-template", "{{7*7}} ${" + flag("tag-template") + "}", "template", False),
            Payload("tag-details", f"'><details open ontoggle={flag('tag-details')} data-pwn>", "attr1", False),
            Payload("tag-rtl", "\u202eRTL tag \u2066x\u2069", "none", False),
            Payload("tag-level", "<b data-pwn>x</b>", "markup", False),
            Payload("tag-cjk", "論文/<i data-pwn>読む</i>", "markup", False),
        ]


# ----------------------------------------------------------------------------- detection
SCAN_JS = r"""
(run) => {
  const out = { flags: [], markers: [], handlers: [], urls: [], scripts: [], styles: [] };
  const bad = /^\s*(javascript|vbscript|data:text\/html|data:image\/svg)/i;
  const URL_ATTRS = ["href", "src", "action", "formaction", "xlink:href", "srcdoc", "data", "poster", "background", "ping"];
  const seen = new Set();
  const walk = (root, where) => {
    for (const el of root.querySelectorAll("*")) {
      if (el.hasAttribute("data-pwn")) out.markers.push(where + " " + el.tagName);
      for (const a of el.attributes) {
        const n = a.name.toLowerCase(), v = a.value;
        if (n.startsWith("on") && /__pwn/.test(v)) out.handlers.push(`${where} ${el.tagName} ${n}`);
        if (URL_ATTRS.includes(n) && bad.test(v)) out.urls.push(`${where} ${el.tagName} ${n}=${v.slice(0, 80)}`);
        if (n === "style" && /\/hit\//.test(v)) out.styles.push(`${where} ${el.tagName} style`);
      }
      if (el.tagName === "SCRIPT" && /__pwn/.test(el.textContent)) out.scripts.push(where);
      if (el.tagName === "STYLE" && /\/hit\//.test(el.textContent)) out.styles.push(where + " <style>");
      if (el.shadowRoot && !seen.has(el.shadowRoot)) { seen.add(el.shadowRoot); walk(el.shadowRoot, where + " shadow"); }
      if (el.tagName === "IFRAME") {
        try { if (el.contentDocument) walk(el.contentDocument, where + " iframe"); } catch (e) { /* cross-origin */ }
      }
    }
  };
  walk(document, location.protocol + "//" + location.host + location.pathname);
  const flags = [].concat(window.__pwn || []);
  out.flags = flags.map(String).filter((f) => !run || f.startsWith(run + ":") || !f.includes(":"));
  return out;
}
"""


def scan(page, run: str) -> dict:
    return page.evaluate(SCAN_JS, run)


def findings(result: dict) -> int:
    return sum(len(result[k]) for k in ("flags", "markers", "handlers", "urls", "scripts", "styles"))


# Insert a payload the unsafe way its `how` says (positive control).
INJECT_JS = r"""
([text, how]) => {
  const box = document.createElement("div");
  box.className = "pwn-control";
  document.body.appendChild(box);
  // A contextual fragment runs <script> and fires onload, as jQuery's .html() would.
  const insert = (markup) => box.append(document.createRange().createContextualFragment(markup));
  // Markup written by the parser (document.write into a frame of this page) fires <svg onload>.
  const write = (markup) => {
    const f = document.createElement("iframe");
    box.appendChild(f);
    f.contentDocument.open(); f.contentDocument.write(markup); f.contentDocument.close();
  };
  if (how === "html" || how === "markup") insert(text);
  else if (how === "attr2") { insert(`<span title="${text}">x</span>`); write(`<span title="${text}">x</span>`); }
  else if (how === "attr1") { insert(`<span title='${text}'>x</span>`); write(`<span title='${text}'>x</span>`); }
  else if (how === "style") box.innerHTML = `<span style="color:${text}">x</span>`;
  else if (how === "entities") { const t = document.createElement("textarea"); t.innerHTML = text; box.innerHTML = t.value; }
  else if (how === "template") { new Function("return `" + text + "`")(); }
  else if (how === "url") { box.innerHTML = `<a href="${text}">link</a>`; box.querySelector("a").click(); }
  return true;
}
"""


# ----------------------------------------------------------------------------- the page
LISTING_SOURCE = "001_date.html"
LISTING_URL = "https://huggingface.co/papers/date/2026-03-20"
HF_ARTICLE = re.compile(r"<article\b.*?</article>", re.S)


def _props(page_html: str):
    m = re.search(r'data-target="DailyPapers" data-props="([^"]*)"', page_html)
    return m, json.loads(htmllib.unescape(m.group(1)))


def _esc(text: str) -> str:
    return htmllib.escape(text, quote=True)


def _long(unit: str, n: int) -> str:
    return (unit * (n // max(len(unit), 1) + 1))[:n]


def card_specs(p: Payloads) -> list[dict]:
    """What each card of the page carries: field → value (JSON and, for title/abstract, DOM)."""
    P = {k: v.text for k, v in p.all().items()}
    every = " ".join(v for k, v in P.items())
    return [
        {"title": f"{P['img']} Learning to escape", "abstract": every,
         "authors": [P["img"], P["script"], P["svg"], P["svg1"]],
         "org": (P["svg"], P["script"]), "submitted_by": P["details"],
         "github": P["jsurl"], "thumbnail": P["jsurl2"]},
        {"title": f"{P['script']} Scripts in titles", "abstract": P["csstag"] + " " + P["entity"],
         "authors": [P["entity"], P["cssattr"], P["iframe"]], "org": (P["cssattr"], P["csstag"]),
         "github": f'https://github.com/a/b" onmouseover="{p.js("ghquote")}" data-pwn="',
         "thumbnail": f'https://cdn.example/t.png"><svg onload="{p.js("thumbquote")}" data-pwn>'},
        {"title": f"Quoting {P['svg']} attributes", "abstract": P["template"] + " " + P["angular"],
         "authors": [P["template"], P["angular"]], "org": (P["angular"], P["template"]),
         "github": "data:text/html,<script>top.__pwn=1</script>",
         "thumbnail": "vbscript:msgbox(1)"},
        {"title": f"Single {P['svg1']} quotes", "abstract": P["iframe"] + " " + P["details"],
         "authors": [P["details"]], "submitted_by": P["svg1"],
         "github": P["jsurl2"], "thumbnail": P["jsurl"]},
        {"title": f"Templates {P['template']} and {P['angular']}", "abstract": P["angular"],
         "authors": [P["rtl"]], "org": (P["rtl"], P["rtl"])},
        {"title": f"{P['rtl']} bidirectional", "abstract": P["rtl"] * 3,
         "authors": [P["rtl"], "Ann \u202eeno\u202c Lee"], "submitted_by": P["rtl"]},
        {"title": _long(P["img"] + " ", 3000), "abstract": _long(every + " ", 60_000),
         "authors": [_long(P["script"], 1000), "Short Name"], "org": (_long("o", 1000), _long(P["svg"], 1000)),
         "submitted_by": _long("s", 1000),
         "github": "https://github.com/" + _long("a", 5000), "thumbnail": "https://cdn.example/" + _long("t", 5000)},
        {"title": f"Control\u0007 characters {P['iframe']}", "abstract": "bell \u0007 nul \u0000 lone \ud800 surrogate " + P["details"],
         "authors": ["Tab\tName", "Null\u0000Name"], "submitted_by": "bell\u0007user"},
    ]


def build_listing(fixtures_dir: Path, p: Payloads) -> tuple[str, list[str], list[dict]]:
    """The payload listing page: (html, arXiv ids in page order, the card specs)."""
    page = (fixtures_dir / LISTING_SOURCE).read_text(encoding="utf-8")
    specs = card_specs(p)
    m, props = _props(page)
    items = props["dailyPapers"][: len(specs)]
    articles = HF_ARTICLE.findall(page)
    ids = [it["paper"]["id"] for it in items]
    new_items, new_articles = [], []
    for spec, item, aid in zip(specs, items, ids):
        item = copy.deepcopy(item)
        paper = item["paper"]
        paper["title"] = item["title"] = spec["title"]
        paper["summary"] = item["summary"] = spec["abstract"]
        paper["authors"] = [{"_id": f"{i:024x}", "name": n, "hidden": False} for i, n in enumerate(spec["authors"])]
        if "org" in spec:
            paper["organization"] = {"name": spec["org"][0], "fullname": spec["org"][1]}
        if "submitted_by" in spec:
            paper["submittedOnDailyBy"] = {"user": spec["submitted_by"], "name": spec["submitted_by"]}
        if "github" in spec:
            paper["githubRepo"] = spec["github"]
        if "thumbnail" in spec:
            item["thumbnail"] = spec["thumbnail"]
        new_items.append(item)
        article = next(a for a in articles if f'href="/papers/{aid}"' in a)
        # The DOM shows the same text, escaped as Hugging Face escapes it.
        article = re.sub(rf'(<h3[^>]*><a href="/papers/{re.escape(aid)}"[^>]*>)[^<]*(</a>)',
                         lambda mm: mm.group(1) + _esc(spec["title"].replace("\u0000", "")) + mm.group(2), article)
        article = re.sub(r"(<p\b[^>]*>)[^<]*(</p>)",
                         lambda mm: mm.group(1) + _esc(spec["abstract"].replace("\u0000", "").replace("\ud800", "")) + mm.group(2),
                         article, count=1)
        new_articles.append(article)
    props["dailyPapers"] = new_items
    escaped = htmllib.escape(json.dumps(props), quote=True)
    page = page[: m.start(1)] + escaped + page[m.end(1):]
    # Offsets moved: find the article run again and replace it with ours.
    runs = list(HF_ARTICLE.finditer(page))
    page = page[: runs[0].start()] + "".join(new_articles) + page[runs[-1].end():]
    return page, ids, specs
