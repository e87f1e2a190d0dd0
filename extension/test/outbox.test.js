// Unit tests of the outbox and the backend client (no browser, no backend).
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");

const { createOutbox, memoryStorage } = require("../src/outbox.js");
const { createClient, BackendError, normalizeBaseUrl } = require("../src/client.js");

const card = (id, extra) => ({ arxiv_id: id, title: `Paper ${id}`, ...(extra || {}) });
const offline = () => new BackendError("offline", "Papershelf is not running");

test("queued saves wait in storage until the backend takes them", async () => {
  const storage = memoryStorage();
  const box = createOutbox(storage);
  await box.add([card("2401.00001"), card("2401.00002")], { url: "u", view: "daily" });
  assert.equal(await box.count(), 2);
  // the backend is still down: nothing leaves, attempts are counted
  let report = await box.flush(async () => {
    throw offline();
  });
  assert.equal(report.remaining, 2);
  assert.equal(report.error.kind, "offline");
  assert.equal((await box.items())[0].attempts, 1);
  // a fresh outbox over the same storage (the service worker restarted) still has them
  const again = createOutbox(storage);
  const sent = [];
  report = await again.flush(async (entries) => {
    sent.push(...entries.map((e) => e.card.arxiv_id));
    return entries.map(() => ({ status: "created" }));
  });
  assert.deepEqual(sent, ["2401.00001", "2401.00002"]);
  assert.equal(report.delivered.length, 2);
  assert.equal(report.remaining, 0);
  assert.equal(await again.count(), 0);
});

test("the same paper queued twice is one entry; tags are merged", async () => {
  const box = createOutbox(memoryStorage());
  await box.add([card("2401.00001", { tags: ["a"] })], null);
  await box.add([card("2401.00001", { tags: ["b"], upvotes: 5 })], null);
  const items = await box.items();
  assert.equal(items.length, 1);
  assert.deepEqual(items[0].card.tags, ["a", "b"]);
  assert.equal(items[0].card.upvotes, 5);
});

test("a save queued while a flush is sending is not lost", async () => {
  const box = createOutbox(memoryStorage());
  await box.add([card("2401.00001")], null);
  let release;
  const gate = new Promise((r) => (release = r));
  const flushing = box.flush(async (entries) => {
    await gate;
    return entries.map(() => ({ status: "created" }));
  });
  // queued again (newer data) while the first copy is on its way
  await box.add([card("2401.00001", { upvotes: 9 })], null);
  await box.add([card("2401.00002")], null);
  assert.equal(box.flush(async () => []), flushing, "one flush at a time");
  release();
  const report = await flushing;
  assert.equal(report.delivered.length, 1);
  const left = await box.items();
  assert.deepEqual(left.map((e) => e.card.arxiv_id), ["2401.00001", "2401.00002"]);
  assert.equal(left[0].card.upvotes, 9);
});

test("a card the backend rejects moves to failed; the others are delivered", async () => {
  const box = createOutbox(memoryStorage());
  await box.add([card("2401.00001"), card("2401.00002", { bogus: 1 }), card("2401.00003")], null);
  const delivered = [];
  const report = await box.flush(async (entries) => {
    if (entries.some((e) => e.card.bogus)) throw new BackendError("bad-request", "unknown field bogus", 400);
    delivered.push(...entries.map((e) => e.card.arxiv_id));
    return entries.map(() => ({ status: "created" }));
  });
  assert.deepEqual(delivered, ["2401.00001", "2401.00003"]);
  assert.equal(report.failed, 1);
  assert.equal(await box.count(), 0);
  const failed = await box.failed();
  assert.equal(failed.length, 1);
  assert.match(failed[0].last_error, /bogus/);
  // never dropped silently: the user can put it back, or discard it explicitly
  await box.retryFailed();
  assert.equal(await box.count(), 1);
  assert.equal((await box.failed()).length, 0);
  await box.flush(async () => {
    throw new BackendError("bad-request", "unknown field bogus", 400);
  });
  assert.equal((await box.failed()).length, 1);
  await box.discardFailed(failed[0].key);
  assert.equal((await box.failed()).length, 0);
});

function fakeFetch(routes) {
  const calls = [];
  const f = async (url, init) => {
    calls.push({ url, init });
    const u = new URL(url);
    const handler = routes[`${init.method} ${u.pathname}`];
    if (!handler) return new Response(JSON.stringify({ error: "not found" }), { status: 404 });
    const [status, body] = handler(u, init);
    return new Response(typeof body === "string" ? body : JSON.stringify(body), { status });
  };
  f.calls = calls;
  return f;
}

test("client: token, JSON bodies, errors by kind", async () => {
  assert.equal(normalizeBaseUrl(""), "http://127.0.0.1:27311");
  assert.equal(normalizeBaseUrl("localhost:9000/"), "http://localhost:9000");
  const f = fakeFetch({
    "GET /api/ping": () => [200, { app: "papershelf", version: "0.1.0", api_version: 1 }],
    "POST /api/papers/lookup": (u, init) => {
      if (init.headers.Authorization !== "Bearer t0k") return [401, { error: "no token", field: null }];
      const ids = JSON.parse(init.body).arxiv_ids;
      return [200, { papers: { [ids[0]]: { id: 1, title: "x", tags: ["a"], read: false, starred: false } } }];
    },
    "POST /api/papers": () => [400, { error: "unknown field 'bogus'", field: "papers[0].bogus" }],
    "GET /api/tags": (u) => [200, { tags: [{ name: `${u.searchParams.get("prefix")}x`, count: 1 }] }],
    "GET /api/status": () => [500, "oops"],
  });
  const c = createClient({ baseUrl: "http://127.0.0.1:5555", token: "t0k", fetch: f });
  assert.equal((await c.ping()).app, "papershelf");
  assert.equal(f.calls[0].init.headers.Authorization, undefined, "ping carries no token");
  const papers = await c.lookup(["2401.00001", "2401.00001"]);
  assert.deepEqual(Object.keys(papers), ["2401.00001"]);
  assert.equal(f.calls[1].init.headers["Content-Type"], "application/json");
  await assert.rejects(c.savePapers([{ bogus: 1 }]), (e) => e.kind === "bad-request" && e.field === "papers[0].bogus");
  assert.equal((await c.tags("ml/")).tags[0].name, "ml/x");
  await assert.rejects(c.status(), (e) => e.kind === "server" && e.retryable);
  const anon = createClient({ baseUrl: "http://127.0.0.1:5555", fetch: f });
  await assert.rejects(anon.lookup(["2401.00001"]), (e) => e.kind === "unauthorized");
  const down = createClient({
    fetch: async () => {
      throw new TypeError("Failed to fetch");
    },
  });
  await assert.rejects(down.ping(), (e) => e.kind === "offline" && /not running/.test(e.message));
  const other = createClient({ fetch: async () => new Response("<html>", { status: 200 }) });
  await assert.rejects(other.ping(), (e) => e.kind === "not-papershelf");
});
