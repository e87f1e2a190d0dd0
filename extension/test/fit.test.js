// Unit tests of fitRecord: what a hostile or odd page shows still becomes a card the
// library accepts (backend/papershelf/records.py), instead of an unsaveable one.
// Run: cd extension && node --test test/
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");

const { fitRecord, mergeRecord } = require("../src/parse.js");

const base = {
  arxiv_id: "2601.00001", title: "A title", abstract: "An abstract.", authors: ["Ann Lee"],
  authors_count: null, org_name: null, org_fullname: null, published: "2026-01-05", date_text: "Jan 5",
  upvotes: 3, comments: 0, github_repo: null, github_stars: null, submitted_by: null, thumbnail: null,
  hf_url: "https://huggingface.co/papers/2601.00001",
};

test("URL fields keep only absolute http(s) URLs the library accepts", () => {
  const bad = ["javascript:alert(1)", " JaVaScRiPt:alert(1)", "data:text/html,<script>x</script>",
    "vbscript:msgbox(1)", "//evil.example/x", "/relative", "https:/one-slash", `https://github.com/${"a".repeat(3000)}`,
    42, { href: "https://x" }];
  for (const value of bad) {
    const out = fitRecord({ ...base, github_repo: value, thumbnail: value, hf_url: value });
    assert.equal(out.github_repo, null, String(value));
    assert.equal(out.thumbnail, null, String(value));
    assert.equal(out.hf_url, null, String(value));
  }
  const good = 'https://github.com/a/b" onmouseover="x';
  assert.equal(fitRecord({ ...base, github_repo: good }).github_repo, good); // a URL; shown escaped
});

test("text is clipped to the library's limits, in code points, and marked", () => {
  const emoji = "😀".repeat(1200); // two UTF-16 units each
  const out = fitRecord({ ...base, title: emoji, authors: ["x".repeat(500), "", "  "], abstract: "a".repeat(60000),
    org_name: "o".repeat(400), submitted_by: "s".repeat(301), date_text: "d".repeat(100) });
  assert.equal(Array.from(out.title).length, 1000);
  assert.ok(out.title.endsWith("…"));
  assert.ok(!/[\uD800-\uDBFF]…$/.test(out.title), "no half of a surrogate pair before the mark");
  assert.deepEqual(out.authors.map((a) => a.length), [300]);
  assert.equal(out.abstract.length, 50000);
  assert.equal(out.org_name.length, 300);
  assert.equal(out.submitted_by.length, 300);
  assert.equal(out.date_text.length, 64);
});

test("control characters and lone surrogates are dropped, markup stays text", () => {
  const out = fitRecord({ ...base, title: "Bell\u0007 <img src=x onerror=alert(1)>", abstract: "a\u0000b\ud800c\n\nd",
    authors: ["Nul\u0000Name"] });
  assert.equal(out.title, "Bell <img src=x onerror=alert(1)>");
  assert.equal(out.abstract, "a b\uFFFDc\n\nd");
  assert.deepEqual(out.authors, ["Nul Name"]);
});

test("numbers and dates the library would refuse become null", () => {
  const out = fitRecord({ ...base, upvotes: -1, comments: 1.5, github_stars: 1e12, authors_count: "3",
    published: "2024-02-31" });
  assert.equal(out.upvotes, null);
  assert.equal(out.comments, null);
  assert.equal(out.github_stars, null);
  assert.equal(out.authors_count, null);
  assert.equal(out.published, null);
  assert.equal(fitRecord({ ...base, published: "1700-01-01" }).published, null);
  assert.equal(fitRecord({ ...base, published: "2024-02-29" }).published, "2024-02-29");
  assert.equal(fitRecord({ ...base, authors: ["a", "b", "c"], authors_count: 1 }).authors_count, 3);
});

test("mergeRecord applies it to the embedded JSON a page carries", () => {
  const item = { paper: { id: "2601.00001", title: { toString: () => "x" }, summary: ["not", "text"],
    authors: [{ name: "<b>Bold</b>" }], githubRepo: "javascript:alert(1)", upvotes: "many" },
  thumbnail: "data:image/svg+xml,<svg onload=alert(1)>" };
  const rec = mergeRecord("2601.00001", { title: "From the DOM", authors: [] }, item, 2026);
  assert.equal(rec.abstract, null);
  assert.deepEqual(rec.authors, ["<b>Bold</b>"]);
  assert.equal(rec.github_repo, null);
  assert.equal(rec.thumbnail, null);
  assert.equal(rec.upvotes, null);
  assert.equal(rec.hf_url, "https://huggingface.co/papers/2601.00001");
});
