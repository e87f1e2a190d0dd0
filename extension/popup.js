/* Papershelf popup: connection, outbox, save-all with progress, tags of the papers saved
 * from the current tab, recent saves. Talks to the background and to the tab's content
 * script; never to the backend itself. */
(function () {
  "use strict";
  const ext = globalThis.browser || globalThis.chrome;
  const $ = (id) => document.getElementById(id);
  const LISTING = /^https:\/\/huggingface\.co\/papers/;

  let tabId = null;
  let status = null;
  const editors = new Map(); // library id → editor element

  const send = (msg) =>
    Promise.resolve(ext.runtime.sendMessage(msg)).catch((e) => ({ ok: false, error: e.message }));

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children) if (c !== null && c !== undefined) node.append(c);
    return node;
  }

  // ------------------------------------------------------------------ which tab
  async function targetTab() {
    const asked = new URLSearchParams(location.search).get("tab");
    if (asked) return Number(asked);
    try {
      const [active] = await ext.tabs.query({ active: true, currentWindow: true });
      if (active && active.url && LISTING.test(active.url)) return active.id;
    } catch (e) {
      /* fall back below */
    }
    const answer = await send({ type: "pageTab" });
    return answer && typeof answer.tabId === "number" ? answer.tabId : null;
  }

  async function pageInfo() {
    if (tabId === null) return null;
    try {
      return await ext.tabs.sendMessage(tabId, { type: "pageInfo" });
    } catch (e) {
      return null;
    }
  }

  // ------------------------------------------------------------------ status
  const PILL = {
    connected: ["Connected", "ok"],
    offline: ["Not running", "warn"],
    unpaired: ["Not paired", "warn"],
    "not-papershelf": ["Wrong address", "error"],
    forbidden: ["Refused", "error"],
    error: ["Error", "error"],
  };

  function renderStatus(st) {
    status = st;
    const state = (st && st.connection && st.connection.state) || "error";
    const [label, kind] = PILL[state] || PILL.error;
    $("pill").textContent = label;
    $("pill").dataset.kind = kind;
    $("connection").dataset.state = state;
    $("conn-text").textContent =
      state === "connected"
        ? `Connected to Papershelf at ${st.backendUrl}.`
        : (st && st.connection && st.connection.message) || (st && st.error) || "The extension background did not answer.";
    $("open-options").hidden = !["unpaired", "not-papershelf", "forbidden"].includes(state);
    $("recheck").hidden = state === "connected";
    if (st && st.backendUrl) $("library").href = `${st.backendUrl}/`;

    const failed = (st && st.failed) || [];
    const waiting = (st && st.outbox) || 0;
    $("outbox-box").hidden = !waiting && !failed.length;
    $("outbox-text").textContent = waiting
      ? `${waiting} save${waiting === 1 ? "" : "s"} waiting in the outbox; ${state === "connected" ? "sending…" : "sent when Papershelf is back."}`
      : "";
    $("flush").hidden = !waiting;
    const list = $("failed");
    list.textContent = "";
    for (const f of failed) {
      const retry = el("button", { type: "button", text: "Retry" });
      retry.addEventListener("click", async () => {
        renderStatus(await send({ type: "retryFailed" }).then(() => send({ type: "status" })));
      });
      const discard = el("button", { type: "button", text: "Discard" });
      discard.addEventListener("click", async () => {
        await send({ type: "discardFailed", key: f.key });
        renderStatus(await send({ type: "status" }));
      });
      list.append(
        el("li", {}, el("span", { class: "title", text: f.card.title || f.card.arxiv_id }),
          el("span", { class: "reason", text: `Rejected: ${f.last_error}` }), retry, discard)
      );
    }

    const recent = (st && st.recent) || [];
    const ul = $("recent");
    ul.textContent = "";
    for (const r of recent.slice(0, 8)) {
      const title = r.arxiv_id
        ? el("a", { href: `https://huggingface.co/papers/${r.arxiv_id}`, target: "_blank", rel: "noopener", text: r.title })
        : el("span", { text: r.title });
      ul.append(el("li", {}, title, r.tags && r.tags.length ? el("span", { class: "tags", text: r.tags.join(" · ") }) : null));
    }
    $("recent-empty").hidden = recent.length > 0;
  }

  // ------------------------------------------------------------------ the page
  function renderPage(info) {
    const saveAll = $("save-all");
    if (!info || !info.enabled) {
      $("page-text").textContent = info
        ? "Save buttons are turned off for this view (see the options)."
        : "No Hugging Face paper listing in this tab.";
      saveAll.hidden = true;
      $("saved-section").hidden = true;
      return;
    }
    const cards = info.cards || [];
    const count = (s) => cards.filter((c) => c.state === s).length;
    const saved = count("saved");
    const queued = cards.filter((c) => c.queued).length;
    const unreadable = count("unreadable");
    const parts = [`${cards.length - unreadable} papers on this page`, `${saved} saved`];
    if (queued) parts.push(`${queued} waiting`);
    if (unreadable) parts.push(`${unreadable} could not be read`);
    $("page-text").textContent = `${parts.join(" · ")}.`;
    saveAll.hidden = false;
    saveAll.disabled = Boolean(info.saving) || cards.length - unreadable === 0;

    const savedCards = cards.filter((c) => c.state === "saved" && c.paperId);
    $("saved-section").hidden = savedCards.length === 0;
    const list = $("saved");
    const wanted = new Set(savedCards.map((c) => c.paperId));
    for (const [id, node] of editors) {
      if (!wanted.has(id)) {
        node.remove();
        editors.delete(id);
      }
    }
    for (const c of savedCards) {
      let node = editors.get(c.paperId);
      if (!node) {
        node = paperItem(c);
        editors.set(c.paperId, node);
      }
      if (!node.isConnected) list.append(node); // never move a node: it may hold the focus
    }
  }

  // ------------------------------------------------------------------ tag editor
  let uid = 0;
  function paperItem(card) {
    const n = ++uid;
    let tags = card.tags.slice();
    let suggestions = [];
    let active = -1;
    const chips = el("ul", { class: "chips", "aria-label": "Tags" });
    const input = el("input", {
      type: "text",
      class: "tag-input",
      role: "combobox",
      "aria-autocomplete": "list",
      "aria-expanded": "false",
      "aria-controls": `sugg-${n}`,
      "aria-label": `Add a tag to ${card.title}`,
      placeholder: "Add tag…",
      autocomplete: "off",
      spellcheck: "false",
      "data-paper-id": String(card.paperId),
    });
    const listbox = el("ul", { id: `sugg-${n}`, role: "listbox", class: "suggestions", hidden: true });
    const live = el("span", { class: "sr", role: "status", "aria-live": "polite" });
    const item = el(
      "li",
      { class: "paper", "data-arxiv-id": card.arxiv_id, "data-paper-id": String(card.paperId) },
      el("span", { class: "title", text: card.title }),
      el("div", { class: "tag-editor" }, chips, input, listbox),
      live
    );

    function renderChips() {
      chips.textContent = "";
      for (const t of tags) {
        const x = el("button", { type: "button", class: "chip-x", "aria-label": `Remove tag ${t}`, text: "×" });
        x.addEventListener("click", () => change([], [t]));
        chips.append(el("li", { class: "chip" }, el("span", { text: t }), x));
      }
    }

    function renderSuggestions() {
      listbox.textContent = "";
      listbox.hidden = suggestions.length === 0;
      input.setAttribute("aria-expanded", suggestions.length ? "true" : "false");
      suggestions.forEach((s, i) => {
        const opt = el("li", { role: "option", id: `sugg-${n}-${i}`, "aria-selected": i === active ? "true" : "false" },
          el("span", { text: s.name }), el("span", { class: "count", text: String(s.count) }));
        opt.addEventListener("mousedown", (e) => {
          e.preventDefault();
          pick(s.name);
        });
        listbox.append(opt);
      });
      if (active >= 0) input.setAttribute("aria-activedescendant", `sugg-${n}-${active}`);
      else input.removeAttribute("aria-activedescendant");
    }

    async function change(add, remove) {
      const answer = await send({ type: "changeTags", paperId: card.paperId, add, remove });
      if (answer && answer.ok) {
        tags = answer.paper.tags || [];
        live.textContent = `Tags: ${tags.join(", ") || "none"}`;
      } else {
        live.textContent = `Could not change tags: ${(answer && answer.error) || "no answer"}`;
      }
      item.dataset.tags = tags.join(",");
      renderChips();
    }

    function pick(name) {
      const tag = name.trim();
      input.value = "";
      suggestions = [];
      active = -1;
      renderSuggestions();
      if (tag && !tags.includes(tag)) change([tag], []);
    }

    let timer = null;
    input.addEventListener("input", () => {
      clearTimeout(timer);
      const prefix = input.value.trim();
      timer = setTimeout(async () => {
        if (!prefix) {
          suggestions = [];
        } else {
          const answer = await send({ type: "tags", prefix, limit: 8 });
          if (input.value.trim() !== prefix) return; // typed on meanwhile
          suggestions = ((answer && answer.tags) || []).filter((t) => !tags.includes(t.name));
        }
        active = -1;
        renderSuggestions();
      }, 120);
    });
    input.addEventListener("keydown", (e) => {
      if (e.key === "ArrowDown" && suggestions.length) {
        e.preventDefault();
        active = (active + 1) % suggestions.length;
        renderSuggestions();
      } else if (e.key === "ArrowUp" && suggestions.length) {
        e.preventDefault();
        active = active <= 0 ? suggestions.length - 1 : active - 1;
        renderSuggestions();
      } else if (e.key === "Enter") {
        e.preventDefault();
        pick(active >= 0 ? suggestions[active].name : input.value);
      } else if (e.key === "Escape" && suggestions.length) {
        e.preventDefault();
        suggestions = [];
        active = -1;
        renderSuggestions();
      } else if (e.key === "Backspace" && !input.value && tags.length) {
        e.preventDefault();
        change([], [tags[tags.length - 1]]);
      }
    });
    input.addEventListener("blur", () => {
      suggestions = [];
      renderSuggestions();
    });

    item.dataset.tags = tags.join(",");
    renderChips();
    return item;
  }

  // ------------------------------------------------------------------ save all
  function showProgress(p) {
    if (tabId === null) return;
    $("progress-box").hidden = false;
    const todo = p.total - p.already;
    $("progress").max = Math.max(todo, 1);
    $("progress").value = p.done;
    let text;
    if (!p.finished) text = `Saving ${p.done} of ${todo}…`;
    else if (todo === 0) text = `All ${p.total} papers were already saved.`;
    else {
      text = `Saved ${p.saved} of ${todo}`;
      if (p.already) text += ` (${p.already} already saved)`;
      if (p.queued) text += `; ${p.queued} waiting in the outbox until Papershelf runs`;
      if (p.failed) text += `; ${p.failed} failed`;
      text += ".";
    }
    $("progress-text").textContent = text;
    $("progress-box").dataset.finished = p.finished ? "true" : "false";
  }

  $("save-all").addEventListener("click", async () => {
    if (tabId === null) return;
    $("save-all").disabled = true;
    showProgress({ total: 0, already: 0, done: 0, finished: false });
    let result = null;
    try {
      result = await ext.tabs.sendMessage(tabId, { type: "saveAll" });
    } catch (e) {
      $("progress-text").textContent = `Could not save: ${e.message}`;
    }
    if (result && result.finished) showProgress(result);
    await refresh();
  });

  ext.runtime.onMessage.addListener((msg) => {
    if (msg && msg.type === "saveAllProgress") showProgress(msg);
  });

  // ------------------------------------------------------------------ buttons, refresh
  $("open-options").addEventListener("click", () => ext.runtime.openOptionsPage());
  $("recheck").addEventListener("click", () => refresh());
  $("flush").addEventListener("click", async () => {
    $("flush").disabled = true;
    await send({ type: "flush" });
    $("flush").disabled = false;
    await refresh();
  });

  async function refresh() {
    const [st, info] = await Promise.all([send({ type: "status" }), pageInfo()]);
    renderStatus(st);
    renderPage(info);
    document.body.dataset.ready = "true";
  }

  ext.storage.onChanged.addListener((changes, area) => {
    if (area === "local" && (changes.outbox || changes.outboxFailed || changes.recent || changes.token)) {
      clearTimeout(refresh.timer);
      refresh.timer = setTimeout(refresh, 150);
    }
  });

  (async () => {
    tabId = await targetTab();
    await refresh();
  })();
})();
