/* Papershelf — background (service worker in Chromium, event page in Firefox).
 *
 * Owns all talk to the backend: content scripts and extension pages send it messages.
 * Saves that cannot be delivered go to the outbox (extension storage) and are retried on an
 * alarm, on browser start-up and whenever the backend answers again.
 */
/* global importScripts */
if (typeof importScripts === "function" && typeof window === "undefined") {
  importScripts("src/client.js", "src/outbox.js");
}

(function () {
  "use strict";

  const ext = globalThis.browser || globalThis.chrome;
  const { createClient, DEFAULT_BACKEND, normalizeBaseUrl } = globalThis.Papershelf.client;
  const { createOutbox, extensionStorage } = globalThis.Papershelf.outbox;

  const ALARM = "papershelf-outbox";
  const RECENT_MAX = 20;
  const DEFAULT_VIEWS = { daily: true, weekly: true, monthly: true, trending: true, search: true };
  const HF_TABS = "https://huggingface.co/papers*";

  const outbox = createOutbox(extensionStorage(ext.storage.local));
  let connection = { state: "unknown", message: "", checked_at: 0 };
  let lastHfTabId = null;

  // ------------------------------------------------------------ settings and client
  async function settings() {
    const s = await ext.storage.local.get(["backendUrl", "token", "views"]);
    return {
      backendUrl: s.backendUrl || DEFAULT_BACKEND,
      token: s.token || "",
      views: { ...DEFAULT_VIEWS, ...(s.views || {}) },
    };
  }

  async function client() {
    const s = await settings();
    return createClient({ baseUrl: s.backendUrl, token: s.token });
  }

  const HELP = {
    connected: "Connected to Papershelf.",
    offline: "Papershelf is not running. Start it with \"papershelf serve\" (or open the Papershelf app); saves wait in the outbox meanwhile.",
    unpaired: "Not paired with Papershelf. Open the options and pair: paste what \"papershelf token\" prints, or pair with one click.",
    "not-papershelf": "Something else answers at the backend address. Check the address in the options.",
    forbidden: "Papershelf refused this browser. Check the backend address in the options.",
    error: "Papershelf answered with an error.",
  };

  function noteConnection(state, message) {
    const before = connection.state;
    connection = { state, message: message || HELP[state] || "", checked_at: Date.now() };
    if (state === "connected" && before !== "connected") flushSoon();
  }

  function noteError(err) {
    const kind = err && err.kind;
    if (kind === "offline") noteConnection("offline");
    else if (kind === "unauthorized") noteConnection("unpaired");
    else if (kind === "not-papershelf") noteConnection("not-papershelf");
    else if (kind === "forbidden") noteConnection("forbidden", `${HELP.forbidden} (${err.message})`);
  }

  /** Ping, then check the token: connected / offline / unpaired / … */
  async function checkConnection() {
    const s = await settings();
    const c = createClient({ baseUrl: s.backendUrl, token: s.token });
    try {
      await c.ping();
    } catch (e) {
      noteError(e);
      if (!["offline", "not-papershelf", "forbidden"].includes(e.kind)) noteConnection("error", e.message);
      return connection;
    }
    if (!s.token) {
      noteConnection("unpaired");
      return connection;
    }
    try {
      await c.status();
      noteConnection("connected");
    } catch (e) {
      noteError(e);
      if (e.kind === "bad-request" || e.kind === "server") noteConnection("error", e.message);
    }
    return connection;
  }

  // ------------------------------------------------------------ badge, recent, tabs
  async function updateBadge() {
    const n = (await outbox.count()) + (await outbox.failed()).length;
    try {
      await ext.action.setBadgeBackgroundColor({ color: "#d97706" });
      await ext.action.setBadgeText({ text: n ? String(n) : "" });
      await ext.action.setTitle({ title: n ? `Papershelf — ${n} save(s) waiting` : "Papershelf" });
    } catch (e) {
      /* no toolbar button (tests, odd browsers) */
    }
    return n;
  }

  async function addRecent(results, source) {
    const items = results
      .filter((r) => r && r.paper)
      .map((r) => ({
        id: r.paper.id,
        arxiv_id: r.paper.arxiv_id || null,
        title: r.paper.title,
        tags: r.paper.tags || [],
        status: r.status,
        url: (source && source.url) || null,
        at: Date.now(),
      }));
    if (!items.length) return;
    const { recent = [] } = await ext.storage.local.get("recent");
    const ids = new Set(items.map((i) => i.id));
    const next = [...items.reverse(), ...recent.filter((r) => !ids.has(r.id))].slice(0, RECENT_MAX);
    await ext.storage.local.set({ recent: next });
  }

  async function updateRecentTags(paper) {
    const { recent = [] } = await ext.storage.local.get("recent");
    let changed = false;
    for (const r of recent) {
      if (r.id === paper.id) {
        r.tags = paper.tags || [];
        changed = true;
      }
    }
    if (changed) await ext.storage.local.set({ recent });
  }

  async function tellTabs(message) {
    let tabs = [];
    try {
      tabs = await ext.tabs.query({ url: HF_TABS });
    } catch (e) {
      return;
    }
    for (const tab of tabs) {
      try {
        await ext.tabs.sendMessage(tab.id, message);
      } catch (e) {
        /* tab without our content script */
      }
    }
  }

  function summary(paper) {
    return { id: paper.id, arxiv_id: paper.arxiv_id, title: paper.title, tags: paper.tags || [] };
  }

  async function rememberTab(sender) {
    const id = sender && sender.tab && sender.tab.id;
    if (typeof id === "number" && id !== lastHfTabId) {
      lastHfTabId = id;
      await ext.storage.local.set({ lastHfTabId: id });
    }
  }

  // ------------------------------------------------------------ outbox delivery
  async function deliver(entries) {
    const c = await client();
    if (!c.hasToken) {
      const e = new Error(HELP.unpaired);
      e.kind = "unauthorized";
      throw e;
    }
    const cards = entries.map((e) => (e.source ? { ...e.card, source: e.source } : e.card));
    const answer = await c.savePapers(cards);
    return answer.results || [];
  }

  async function flushOutbox() {
    if ((await outbox.count()) === 0) {
      await updateBadge();
      return { delivered: 0, remaining: 0 };
    }
    const report = await outbox.flush(deliver);
    if (report.error) noteError(report.error);
    else noteConnection("connected");
    const papers = {};
    const results = [];
    for (const { entry, result } of report.delivered) {
      if (result && result.paper) {
        results.push(result);
        if (entry.card.arxiv_id) papers[entry.card.arxiv_id] = summary(result.paper);
      }
    }
    if (results.length) {
      await addRecent(results, null);
      await tellTabs({ type: "delivered", papers });
    }
    await updateBadge();
    return { delivered: report.delivered.length, remaining: report.remaining, failed: report.failed };
  }

  let flushTimer = null;
  function flushSoon() {
    if (flushTimer) return;
    flushTimer = setTimeout(() => {
      flushTimer = null;
      flushOutbox().catch(() => {});
    }, 50);
  }

  // ------------------------------------------------------------ message handlers
  const handlers = {
    async lookup(msg, sender) {
      await rememberTab(sender);
      const queued = (await outbox.items()).map((e) => e.card.arxiv_id).filter(Boolean);
      const s = await settings();
      if (!s.token) {
        noteConnection("unpaired");
        return { papers: {}, queued, connection };
      }
      try {
        const papers = await (await client()).lookup(msg.ids || []);
        noteConnection("connected");
        if (queued.length) flushSoon();
        return { papers, queued, connection };
      } catch (e) {
        noteError(e);
        return { papers: {}, queued, connection, error: e.message };
      }
    },

    /** {cards, source} → {ok, results} | {queued: true, message} | {ok: false, error} */
    async save(msg, sender) {
      await rememberTab(sender);
      const cards = msg.cards || [];
      const source = msg.source || null;
      const c = await client();
      try {
        if (!c.hasToken) {
          const e = new Error(HELP.unpaired);
          e.kind = "unauthorized";
          throw e;
        }
        const answer = await c.savePapers(cards, source);
        noteConnection("connected");
        const results = answer.results || [];
        await addRecent(results, source);
        if ((await outbox.count()) > 0) flushSoon();
        return {
          ok: true,
          results: results.map((r, i) => ({
            arxiv_id: cards[i] && cards[i].arxiv_id,
            status: r.status,
            paper: r.paper ? summary(r.paper) : null,
          })),
        };
      } catch (e) {
        noteError(e);
        if (e.kind === "bad-request") return { ok: false, error: e.message };
        // Backend down, not paired, wrong address: keep the saves, deliver them later.
        await outbox.add(cards, source);
        await updateBadge();
        return { ok: false, queued: true, reason: connection.state, message: connection.message || e.message };
      }
    },

    async changeTags(msg) {
      const paper = await (await client()).changeTags(msg.paperId, msg.add, msg.remove);
      await updateRecentTags(paper);
      await tellTabs({ type: "paperUpdated", paper: summary(paper) });
      return { ok: true, paper: summary(paper) };
    },

    async tags(msg) {
      const answer = await (await client()).tags(msg.prefix || "", msg.limit || 20);
      return { ok: true, tags: answer.tags || [] };
    },

    async status() {
      await checkConnection();
      const s = await settings();
      const { recent = [] } = await ext.storage.local.get("recent");
      return {
        connection,
        backendUrl: s.backendUrl,
        paired: Boolean(s.token),
        outbox: await outbox.count(),
        failed: await outbox.failed(),
        recent,
        lastHfTabId,
      };
    },

    async flush() {
      await checkConnection();
      return flushOutbox();
    },

    async retryFailed() {
      await outbox.retryFailed();
      await updateBadge();
      return flushOutbox();
    },

    async discardFailed(msg) {
      await outbox.discardFailed(msg.key);
      await updateBadge();
      return { ok: true };
    },

    /** Pair with a code (what `papershelf token` prints) used as the Bearer token. */
    async pair(msg) {
      let baseUrl;
      try {
        baseUrl = normalizeBaseUrl(msg.backendUrl);
      } catch (e) {
        return { ok: false, error: "That backend address is not a valid URL." };
      }
      const token = String(msg.token || "").trim();
      const c = createClient({ baseUrl, token });
      try {
        await c.ping();
        if (!token) return { ok: false, error: "Enter the pairing code first." };
        await c.status();
      } catch (e) {
        if (e.kind === "unauthorized") return { ok: false, error: "Papershelf did not accept that pairing code." };
        return { ok: false, error: e.kind === "offline" ? `Papershelf is not running at ${baseUrl}.` : e.message };
      }
      await ext.storage.local.set({ backendUrl: baseUrl, token });
      noteConnection("connected");
      await tellTabs({ type: "settingsChanged" });
      return { ok: true, backendUrl: baseUrl };
    },

    /** One-click pairing: ask the backend; the user approves the code in the library page. */
    async pairStart(msg) {
      let baseUrl;
      try {
        baseUrl = normalizeBaseUrl(msg.backendUrl);
      } catch (e) {
        return { ok: false, error: "That backend address is not a valid URL." };
      }
      const c = createClient({ baseUrl });
      try {
        await c.ping();
        const name = /firefox/i.test(globalThis.navigator ? navigator.userAgent : "") ? "Firefox" : "Chrome";
        const req = await c.pairRequest(`Papershelf for ${name}`);
        const pending = { baseUrl, request_id: req.request_id, poll_secret: req.poll_secret, code: req.code, at: Date.now() };
        await ext.storage.local.set({ pairPending: pending });
        return { ok: true, code: req.code, libraryUrl: `${baseUrl}/` };
      } catch (e) {
        return { ok: false, error: e.kind === "offline" ? `Papershelf is not running at ${baseUrl}.` : e.message };
      }
    },

    async pairPoll() {
      const { pairPending: p } = await ext.storage.local.get("pairPending");
      if (!p) return { ok: false, status: "none" };
      try {
        const answer = await createClient({ baseUrl: p.baseUrl }).pairPoll(p.request_id, p.poll_secret);
        if (answer.status === "approved" && answer.token) {
          await ext.storage.local.set({ backendUrl: p.baseUrl, token: answer.token });
          await ext.storage.local.remove("pairPending");
          noteConnection("connected");
          await tellTabs({ type: "settingsChanged" });
          return { ok: true, status: "approved" };
        }
        if (answer.status === "denied") await ext.storage.local.remove("pairPending");
        return { ok: true, status: answer.status, code: p.code };
      } catch (e) {
        if (e.kind === "bad-request") await ext.storage.local.remove("pairPending");
        return { ok: false, status: "error", error: e.message };
      }
    },

    async unpair() {
      await ext.storage.local.remove(["token", "pairPending"]);
      noteConnection("unpaired");
      await tellTabs({ type: "settingsChanged" });
      return { ok: true };
    },

    /** The tab the popup is about: the active tab if it is a HF page, else the last one. */
    async pageTab() {
      if (lastHfTabId === null) lastHfTabId = (await ext.storage.local.get("lastHfTabId")).lastHfTabId ?? null;
      return { tabId: lastHfTabId };
    },
  };

  // Content scripts run inside web pages: they may look up, save and tag, but never pair,
  // unpair, point the extension at another backend or touch the outbox's rejected saves.
  // Everything else answers only the extension's own pages (popup, options).
  const FROM_CONTENT_SCRIPTS = new Set(["lookup", "save", "changeTags", "tags"]);
  function allowed(type, sender) {
    if (FROM_CONTENT_SCRIPTS.has(type)) return true;
    const own = ext.runtime.getURL("");
    return Boolean(sender && typeof sender.url === "string" && sender.url.startsWith(own));
  }

  ext.runtime.onMessage.addListener((msg, sender, sendResponse) => {
    const handler = msg && handlers[msg.type];
    if (!handler) return false;
    if (!allowed(msg.type, sender)) {
      sendResponse({ ok: false, error: `"${msg.type}" is only for the extension's own pages` });
      return false;
    }
    Promise.resolve()
      .then(() => handler(msg, sender))
      .then(sendResponse, (e) => sendResponse({ ok: false, error: (e && e.message) || String(e) }));
    return true; // answer asynchronously
  });

  // ------------------------------------------------------------ triggers
  async function activeTab() {
    const [tab] = await ext.tabs.query({ active: true, lastFocusedWindow: true });
    return tab;
  }

  /** Keyboard commands (manifest "commands"): save-all saves every card of the active tab. */
  async function onCommand(command) {
    if (command !== "save-all") return null;
    const tab = await activeTab();
    if (!tab) return null;
    try {
      return await ext.tabs.sendMessage(tab.id, { type: "saveAll" });
    } catch (e) {
      return null; // not a page with our content script
    }
  }
  if (ext.commands && ext.commands.onCommand) ext.commands.onCommand.addListener(onCommand);

  ext.alarms.onAlarm.addListener((alarm) => {
    if (alarm.name === ALARM) flushOutbox().catch(() => {});
  });

  function setUp() {
    ext.alarms.create(ALARM, { periodInMinutes: 1 });
    flushOutbox().catch(() => {});
  }
  ext.runtime.onStartup.addListener(setUp);
  ext.runtime.onInstalled.addListener(setUp);
  // A worker woken for any reason also retries (cheap when the outbox is empty).
  flushOutbox().catch(() => {});

  // For tests and debugging from the worker console.
  globalThis.papershelfBackground = { flushOutbox, checkConnection, onCommand, outbox, settings, handlers, allowed };
})();
