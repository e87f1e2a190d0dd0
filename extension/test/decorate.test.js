// The content script in jsdom with a fake extension API: buttons, batching, states, mutations.
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { JSDOM } = require("jsdom");

const FIXTURES = path.resolve(__dirname, "../../tests/fixtures/hf-papers");
const SCRIPTS = ["selectors.js", "parse.js", "decorate.js"].map((f) =>
  fs.readFileSync(path.resolve(__dirname, "../src", f), "utf8")
);

function until(predicate, what) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = () => {
      if (predicate()) return resolve();
      if (Date.now() - started > 5000) return reject(new Error(`gave up waiting for ${what}`));
      setTimeout(tick, 10);
    };
    tick();
  });
}

function load(file, url, answer) {
  const html = fs.readFileSync(path.join(FIXTURES, file), "utf8");
  const dom = new JSDOM(html, { url, runScripts: "outside-only" });
  const sent = [];
  const listeners = [];
  dom.window.chrome = {
    runtime: {
      id: "test",
      sendMessage: async (msg) => {
        sent.push(msg);
        return answer(msg);
      },
      onMessage: { addListener: (fn) => listeners.push(fn) },
    },
    storage: { local: { get: async () => ({}) }, onChanged: { addListener() {} } },
  };
  for (const src of SCRIPTS) dom.window.eval(src);
  const buttons = () => Array.from(dom.window.document.querySelectorAll("button[data-papershelf-id]"));
  return { dom, doc: dom.window.document, sent, listeners, buttons };
}

const records = (set) => JSON.parse(fs.readFileSync(path.join(FIXTURES, `${set}_records.json`), "utf8")).records;

test("one button per card, states from one batched look-up, saving, DOM changes", async () => {
  const recs = records("001");
  const savedId = recs[2].arxiv_id;
  const page = load("001_trending.html", "https://huggingface.co/papers/trending", (msg) => {
    if (msg.type === "lookup") return { papers: { [savedId]: { id: 7, title: "x", tags: ["t"] } }, queued: [] };
    if (msg.type === "save")
      return { ok: true, results: msg.cards.map((c, i) => ({ arxiv_id: c.arxiv_id, status: "created", paper: { id: 100 + i, tags: [] } })) };
    return {};
  });
  await until(() => page.buttons().length === recs.length, "buttons");
  const { doc, buttons, sent } = page;
  for (const article of doc.querySelectorAll("article")) {
    assert.equal(article.querySelectorAll("button[data-papershelf-id]").length, 1);
  }
  assert.equal(doc.querySelectorAll("a button, h3 button").length, 0);
  const lookups = sent.filter((m) => m.type === "lookup");
  assert.equal(lookups.length, 1, "one batched look-up");
  assert.deepEqual(new Set(lookups[0].ids), new Set(recs.map((r) => r.arxiv_id)));
  const saved = doc.querySelector(`button[data-papershelf-id="${savedId}"]`);
  await until(() => saved.dataset.papershelfState === "saved", "saved state");
  assert.equal(saved.parentElement.querySelector(".papershelf-tags").textContent, "t");

  const target = buttons().find((b) => b.dataset.papershelfState === "idle");
  target.click();
  assert.equal(target.dataset.papershelfState, "saving");
  await until(() => target.dataset.papershelfState === "saved", "saved after click");
  const save = sent.find((m) => m.type === "save");
  assert.equal(save.cards.length, 1);
  assert.equal(save.cards[0].arxiv_id, target.dataset.papershelfId);
  assert.equal(save.source.view, "trending");

  // a card re-rendered by the page gets its button back, once
  const article = doc.querySelector("article");
  const copy = article.cloneNode(true);
  copy.querySelectorAll(".papershelf-widget").forEach((w) => w.remove());
  article.replaceWith(copy);
  await until(() => copy.querySelectorAll("button[data-papershelf-id]").length === 1, "re-decorated card");
  assert.equal(buttons().length, recs.length);
  assert.equal(sent.filter((m) => m.type === "lookup").length, 1, "known cards are not looked up again");
  page.dom.window.close();
});

test("backend down: the save is queued; bad input: error with the reason and a retry", async () => {
  const recs = records("000");
  let mode = "queued";
  const page = load("000_date.html", "https://huggingface.co/papers/date/2026-03-10", (msg) => {
    if (msg.type === "lookup") return { papers: {}, queued: [] };
    if (msg.type === "save") {
      if (mode === "queued") return { ok: false, queued: true, message: "Papershelf is not running" };
      if (mode === "error") return { ok: false, error: "unknown field 'x'" };
      return { ok: true, results: msg.cards.map((c) => ({ arxiv_id: c.arxiv_id, status: "created", paper: { id: 1, tags: [] } })) };
    }
    return {};
  });
  await until(() => page.buttons().length === recs.length, "buttons");
  const [a, b] = page.buttons();
  a.click();
  await until(() => a.dataset.papershelfQueued === "true", "queued");
  assert.equal(a.dataset.papershelfState, "saving");
  assert.match(a.textContent, /Queued/);
  mode = "error";
  b.click();
  await until(() => b.dataset.papershelfState === "error", "error");
  assert.match(b.getAttribute("aria-label"), /unknown field 'x'.*retry/i);
  assert.equal(b.parentElement.querySelector(".papershelf-tags").textContent, "unknown field 'x'");
  mode = "ok";
  b.click();
  await until(() => b.dataset.papershelfState === "saved", "saved on retry");
  // the background reports the queued one delivered
  for (const fn of page.listeners) fn({ type: "delivered", papers: { [a.dataset.papershelfId]: { id: 5, tags: [] } } }, {}, () => {});
  assert.equal(a.dataset.papershelfState, "saved");
  page.dom.window.close();
});

test("save all: every card, in batches, with progress", async () => {
  const recs = records("002");
  const page = load("002_search.html", "https://huggingface.co/papers?q=scaling", (msg) => {
    if (msg.type === "lookup") return { papers: {}, queued: [] };
    if (msg.type === "save")
      return { ok: true, results: msg.cards.map((c) => ({ arxiv_id: c.arxiv_id, status: "created", paper: { id: 1, tags: [] } })) };
    return {};
  });
  await until(() => page.buttons().length === recs.length, "buttons");
  let result;
  for (const fn of page.listeners) fn({ type: "saveAll" }, {}, (r) => (result = r));
  await until(() => result, "save-all answer");
  assert.equal(result.saved, recs.length);
  assert.ok(page.buttons().every((b) => b.dataset.papershelfState === "saved"));
  const saves = page.sent.filter((m) => m.type === "save");
  assert.equal(saves.length, Math.ceil(recs.length / 10));
  assert.equal(saves.reduce((n, m) => n + m.cards.length, 0), recs.length);
  const progress = page.sent.filter((m) => m.type === "saveAllProgress");
  assert.equal(progress[progress.length - 1].finished, true);
  page.dom.window.close();
});

test("saved cards: + Tag opens a tag input made on first use; Enter adds, Escape closes", async () => {
  const recs = records("000");
  const savedId = recs[0].arxiv_id;
  const page = load("000_date.html", "https://huggingface.co/papers/date/2026-03-10", (msg) => {
    if (msg.type === "lookup") return { papers: { [savedId]: { id: 7, title: "x", tags: ["a"] } }, queued: [] };
    if (msg.type === "changeTags") return { ok: true, paper: { id: 7, tags: ["a", ...msg.add] } };
    return {};
  });
  await until(() => page.buttons().length === recs.length, "buttons");
  const { doc, sent } = page;
  const wrap = doc.querySelector(`.papershelf-widget[data-papershelf-for="${savedId}"]`);
  await until(() => wrap.querySelector("button").dataset.papershelfState === "saved", "saved state");
  // an idle card shows a button with its icon and label, and no tag controls
  const idle = page.buttons().find((b) => b.dataset.papershelfState === "idle").parentElement;
  assert.equal(idle.querySelector(".papershelf-icon").getAttribute("aria-hidden"), "true");
  assert.equal(idle.querySelector(".papershelf-label").textContent, "Save");
  assert.equal(idle.querySelectorAll(".papershelf-tags, .papershelf-tag-btn, .papershelf-tag-input").length, 0);
  assert.equal(doc.querySelectorAll(".papershelf-tag-input").length, 0, "no inputs before one is opened");

  const tagBtn = wrap.querySelector(".papershelf-tag-btn");
  assert.equal(tagBtn.hidden, false);
  tagBtn.click();
  const input = wrap.querySelector(".papershelf-tag-input");
  assert.ok(input, "the input is made when opened");
  assert.equal(input.hidden, false);
  assert.equal(doc.activeElement, input);
  assert.equal(doc.querySelectorAll(".papershelf-tag-input").length, 1);
  input.value = "b";
  input.dispatchEvent(new page.dom.window.KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
  await until(() => wrap.querySelector(".papershelf-tags").textContent === "a · b", "new tag shown");
  const changes = sent.filter((m) => m.type === "changeTags").map((m) => [m.paperId, [...m.add]]);
  assert.deepEqual(changes, [[7, ["b"]]]);
  input.dispatchEvent(new page.dom.window.KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
  assert.equal(input.hidden, true);
  assert.equal(tagBtn.hidden, false);
  assert.equal(doc.activeElement, tagBtn);
  // opened again: the same input
  tagBtn.click();
  assert.equal(wrap.querySelectorAll(".papershelf-tag-input").length, 1);
  page.dom.window.close();
});
