//# allFunctionsCalledOnLoad
/* Papershelf — content script: Save buttons on Hugging Face listing pages.
 *
 * One button per card (twinned trending cards get one, placed in the visible copy), kept in
 * step with the page by a MutationObserver that ignores our own changes. All talk to the
 * backend goes through the background (runtime messages).
 *
 * The first line is a V8 compile hint (Chromium; a plain comment elsewhere): every function
 * here is compiled when the script loads instead of on its first call, so the first scan of
 * a page, which calls most of them once, does not wait for the compiler.
 *
 * Button interface used by external checks:
 *   <button data-papershelf-id="<arXiv id>" data-papershelf-state="idle|saving|saved|error">
 */
(function (root) {
  "use strict";

  const P = root.Papershelf;
  const parse = P.parse;
  const S = P.selectors;
  const ext = root.browser || root.chrome;
  const doc = root.document;

  const DEFAULT_VIEWS = { daily: true, weekly: true, monthly: true, trending: true, search: true };
  const WIDGET = S.ownClass;
  const SCAN_DELAY_MS = 120;
  const SAVE_ALL_CHUNK = 10;
  const OWN_LINE = "papershelf-own-line";
  const MEASURING = "papershelf-measuring";
  const IDLE_LABEL = "Save to Papershelf";

  const papers = new Map(); // arXiv id → {state, queued, paperId, tags, error}
  let lastResult = null;
  let views = { ...DEFAULT_VIEWS };
  let scanTimer = null;
  let observer = null;
  let dead = false;
  const reportedErrors = new Set();
  let timings = 0;

  // ------------------------------------------------------------------ messaging
  function send(message) {
    if (dead) return Promise.resolve({ ok: false, error: "Papershelf was updated: reload the page." });
    try {
      return Promise.resolve(ext.runtime.sendMessage(message)).then(
        (answer) => answer || { ok: false, error: "no answer from the Papershelf extension" },
        (e) => ({ ok: false, error: (e && e.message) || String(e) })
      );
    } catch (e) {
      // "Extension context invalidated": the extension was reloaded under this page.
      shutDown();
      return Promise.resolve({ ok: false, error: "Papershelf was updated: reload the page." });
    }
  }

  // ------------------------------------------------------------------ widgets
  const parts = new WeakMap(); // widget → its parts; only widgets made here are reused
  let template = null;

  /** The bookmark icon: a shape drawn by decorate.css in the text colour, so a widget is a
   *  few plain elements to clone (no SVG to build, clone and style per card). */
  function icon() {
    const node = doc.createElement("span");
    node.className = "papershelf-icon";
    node.setAttribute("aria-hidden", "true");
    return node;
  }

  function el(tag, className, text) {
    const node = doc.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  /** One widget as render() shows an idle card, built once and cloned per card. What only
   *  saved or failed cards show (their tags or error, "+ Tag", the tag input) is added to a
   *  widget when it first needs it: most cards never do, and a smaller clone is quicker to
   *  make, place and lay out. */
  function widgetTemplate() {
    if (template) return template;
    const wrap = el("span", WIDGET);
    const btn = el("button", "papershelf-btn");
    btn.type = "button";
    btn.setAttribute("data-papershelf-state", "idle");
    btn.setAttribute("aria-label", IDLE_LABEL);
    btn.setAttribute("title", IDLE_LABEL);
    btn.appendChild(icon());
    btn.appendChild(el("span", "papershelf-label", "Save"));
    const live = el("span", "papershelf-sr");
    live.setAttribute("role", "status");
    live.setAttribute("aria-live", "polite");
    wrap.append(btn, live);
    template = wrap;
    return template;
  }

  function createWidget(id) {
    const wrap = widgetTemplate().cloneNode(true);
    wrap.setAttribute("data-papershelf-for", id);
    const btn = wrap.firstChild;
    btn.setAttribute(S.ownAttr, id);
    parts.set(wrap, { btn, label: btn.lastChild, tags: null, tagBtn: null, input: null, live: wrap.lastChild });
    return wrap;
  }

  /** The widget's note (tags or error) and "+ Tag" button, made the first time they are
   *  needed, after the button. */
  function extras(wrap) {
    const part = parts.get(wrap);
    if (!part.tags) {
      part.tags = el("span", "papershelf-tags");
      part.tagBtn = el("button", "papershelf-tag-btn", "+ Tag");
      part.tagBtn.type = "button";
      part.tagBtn.hidden = true;
      part.tagBtn.setAttribute("aria-label", "Add a tag");
      wrap.insertBefore(part.tags, part.btn.nextSibling);
      wrap.insertBefore(part.tagBtn, part.tags.nextSibling);
    }
    return part;
  }

  /** The widget's tag input, made (hidden) the first time it is needed. */
  function tagInput(wrap) {
    const part = parts.get(wrap);
    if (!part.input) {
      const input = el("input", "papershelf-tag-input");
      input.type = "text";
      input.hidden = true;
      input.placeholder = "tag, Enter";
      input.setAttribute("aria-label", "New tag (Enter adds, Backspace removes the last, Escape closes)");
      input.setAttribute("autocomplete", "off");
      wrap.insertBefore(input, extras(wrap).tagBtn.nextSibling);
      part.input = input;
    }
    return part.input;
  }

  // The widgets' events are handled by one listener per event type on the window, in the
  // capture phase, rather than by listeners on every widget (a widget is then a clone and
  // nothing more). Clicks and presses in a widget stop there, so the page's own handlers
  // (card links, Svelte actions) never see them; a copy of a widget that the page made
  // itself (not in `parts`) is left to the page.
  const WIDGET_EVENTS = ["click", "mousedown", "keydown", "focusout"];

  function onWidgetEvent(e) {
    const target = e.target;
    const wrap = target && target.nodeType === 1 ? target.closest(`.${WIDGET}`) : null;
    const part = wrap && parts.get(wrap);
    if (!part) return;
    if (e.type === "click") {
      e.stopPropagation();
      if (part.btn.contains(target)) {
        e.preventDefault();
        onButton(wrap.getAttribute("data-papershelf-for"));
      } else if (part.tagBtn && part.tagBtn.contains(target)) {
        e.preventDefault();
        openTagInput(wrap);
      }
    } else if (e.type === "mousedown") {
      e.stopPropagation();
    } else if (part.input && target === part.input) {
      if (e.type === "keydown") onTagKey(e, wrap.getAttribute("data-papershelf-for"), wrap);
      else if (e.type === "focusout" && !part.input.value.trim()) closeTagInput(wrap, false);
    }
  }

  function setIfChanged(node, attr, value) {
    if (value === null) {
      if (node.hasAttribute(attr)) node.removeAttribute(attr);
    } else if (node.getAttribute(attr) !== value) {
      node.setAttribute(attr, value);
    }
  }

  function render(wrap) {
    const id = wrap.getAttribute("data-papershelf-for");
    const p = papers.get(id) || { state: "idle", tags: [] };
    const part = parts.get(wrap);
    const { btn, label } = part;
    let text = "Save";
    let aria = IDLE_LABEL;
    if (p.state === "saving") {
      text = p.queued ? "Queued" : "Saving…";
      aria = p.queued ? `Waiting for Papershelf: ${p.message || "it will be saved when Papershelf is running"}` : "Saving to Papershelf";
    } else if (p.state === "saved") {
      text = "Saved";
      aria = "Saved in Papershelf (click to save again and refresh it)";
    } else if (p.state === "error") {
      text = "Retry";
      aria = `Could not save: ${p.error || "unknown error"}. Click to retry.`;
    }
    if (label.textContent !== text) label.textContent = text;
    setIfChanged(btn, "data-papershelf-state", p.state);
    setIfChanged(btn, "aria-label", aria);
    setIfChanged(btn, "title", aria);
    setIfChanged(btn, "aria-busy", p.state === "saving" ? "true" : null);
    setIfChanged(btn, "data-papershelf-queued", p.queued ? "true" : null);
    if (p.state === "error") setIfChanged(btn, "data-papershelf-error", p.error || "");
    else setIfChanged(btn, "data-papershelf-error", null);

    // Next to the button: the paper's tags once saved, the reason when saving failed.
    let note = "";
    if (p.state === "saved" && p.tags && p.tags.length) note = p.tags.join(" · ");
    else if (p.state === "error") note = p.error || "";
    const showTag = p.state === "saved" && Boolean(p.paperId);
    if (note || showTag || part.tags) {
      const { tags: tagsEl, tagBtn } = extras(wrap);
      if (tagsEl.textContent !== note) tagsEl.textContent = note;
      setIfChanged(tagsEl, "data-kind", p.state === "error" ? "error" : null);
      setIfChanged(tagsEl, "title", note || null);
      if (tagBtn.hidden === showTag) tagBtn.hidden = !showTag;
    }
    if (wrap.isConnected) requestFit(wrap);
  }

  let widgetsById = new Map(); // arXiv id → the widgets the last scan placed for it

  function widgetsOf(id) {
    return (widgetsById.get(id) || []).filter((wrap) => wrap.isConnected);
  }

  function renderId(id) {
    for (const wrap of widgetsOf(id)) render(wrap);
  }

  function announce(id, text) {
    for (const wrap of widgetsOf(id)) parts.get(wrap).live.textContent = text;
  }

  // ------------------------------------------------------------------ placement
  const NOT_INSIDE = "a, h3, ul, ol, li, p, button, label";

  /** The nearest ancestor of `node` in `copy` that is not (inside) a link, heading or list.
   *  (Only the ancestors inside the card are tested: the page around it does not matter.) */
  function rowOf(node, copy) {
    let row = node.parentElement;
    for (let n = row; n && n !== copy; n = n.parentElement) {
      if (n.matches(NOT_INSIDE)) row = n.parentElement;
    }
    return row || copy;
  }

  /** Where the widget goes: the card's metadata row (authors · date · comments). */
  function anchorFor(card) {
    const { copy, link } = card.copy ? card : parse.cardCopy(card);
    const comments = copy.querySelector(S.commentsLink);
    if (comments) return { parent: rowOf(comments, copy), before: null };
    const authors = copy.querySelector(S.authorsList);
    if (authors) return { parent: rowOf(authors, copy), before: null };
    for (const span of copy.querySelectorAll("span")) {
      if (!span.children.length && S.dateText.test(span.textContent.trim())) {
        return { parent: rowOf(span, copy), before: null };
      }
    }
    const h3 = link.closest("h3") || link;
    return { parent: rowOf(h3, copy), before: h3.parentElement === rowOf(h3, copy) ? h3.nextSibling : null };
  }

  // widget → {card, row, sizes}: where it was placed, and the widths of the elements around
  // it without it ([element, width], measured once there; see fitAll).
  const homes = new WeakMap();

  /** Where `wrap` (null: a new widget) has to go for `card`, or null where it is. Reads the
   *  page only (nothing is changed), so a scan asks this for every card before it writes. */
  function placement(wrap, card) {
    let anchor = null;
    try {
      anchor = anchorFor(card);
    } catch (e) {
      anchor = null;
    }
    if (!anchor || !anchor.parent) anchor = { parent: card.element, before: null };
    if (wrap && wrap.isConnected) {
      if (wrap.parentElement === anchor.parent) return null;
      const home = homes.get(wrap);
      if (wrap.classList.contains(OWN_LINE) && home && home.row === anchor.parent) return null;
      // On twinned cards only move between copies when the target copy is the visible one.
      if (card.links.length > 1 && !parse.isRendered(anchor.parent)) return null;
    }
    const before = anchor.before && anchor.before.parentNode === anchor.parent ? anchor.before : null;
    return { parent: anchor.parent, before };
  }

  function place(wrap, card, where) {
    if (wrap.className !== WIDGET) wrap.classList.remove(OWN_LINE); // a new one has no other class
    where.parent.insertBefore(wrap, where.before);
    homes.set(wrap, { card: card.element, row: where.parent, sizes: null });
  }

  // ------------------------------------------------------------------ fitting, once a frame
  // In the card's row unless that squeezes the page's own text or overflows the card: then
  // on a line of its own below the row. That takes layout, so it is not done while a scan
  // or a state change writes: the widgets to check are collected and checked together in
  // the next animation frame (before it is painted), all reads first, then all moves.
  // Checking a widget takes it out of its row and back (two relayouts of its card), so only
  // the widgets on or near the screen are checked in that frame; the others are left to an
  // IntersectionObserver and checked when they come within a screen of the viewport, before
  // they can be seen. A page of 100 cards then costs its first frame a handful of checks.
  const toFit = new Set();
  let fitScheduled = false;
  let farWatch = null; // IntersectionObserver of the widgets whose check waits

  function requestFit(wrap) {
    toFit.add(wrap);
    if (fitScheduled || dead) return;
    fitScheduled = true;
    if (typeof root.requestAnimationFrame === "function") root.requestAnimationFrame(fitAll);
    else setTimeout(fitAll, 0);
  }

  /** Check `wrap` once it is within a screen of the viewport (and rendered). */
  function fitWhenNear(wrap) {
    if (typeof root.IntersectionObserver !== "function" || dead) return;
    if (!farWatch) {
      farWatch = new root.IntersectionObserver(
        (entries) => {
          for (const entry of entries) {
            if (!entry.isIntersecting) continue;
            farWatch.unobserve(entry.target);
            requestFit(entry.target);
          }
        },
        { rootMargin: "100% 0px" }
      );
    }
    farWatch.observe(wrap);
  }

  /** On the screen or within a screen of it (the IntersectionObserver's margin). */
  function isNear(box) {
    const high = root.innerHeight || doc.documentElement.clientHeight || 0;
    return box.bottom >= -high && box.top <= 2 * high;
  }

  /** The elements around `row` (its children and its ancestors' children, up to the card):
   *  the page's own text that the widget could squeeze. */
  function neighbours(row, card) {
    const out = [];
    let level = row;
    for (let depth = 0; level && depth < 4; depth += 1) {
      for (let child = level.firstElementChild; child; child = child.nextElementSibling) {
        if (!child.classList.contains(WIDGET)) out.push(child);
      }
      if (level === card) break;
      level = level.parentElement;
    }
    return out;
  }

  function isFlexRow(node) {
    const cs = getComputedStyle(node);
    return /flex/.test(cs.display) && cs.flexDirection.startsWith("row");
  }

  /** The line to put `wrap` below: its row, climbing out of nested flex rows (row inside
   *  row) up to the card. */
  function lineOf(row, card) {
    let line = row;
    while (line.parentElement && line.parentElement !== card && isFlexRow(line.parentElement)) {
      line = line.parentElement;
    }
    return line;
  }

  /** Squeezed: an element around the widget got narrower (its text had to wrap or was
   *  cut) than it is without the widget. */
  function squeezes(sizes) {
    return sizes.some(([el, w]) => el.isConnected && el.getBoundingClientRect().width < w - 1);
  }

  /** Wider than the card, or than its row (the row scrolls or cuts it off). */
  function overflows(job, cardBox) {
    return job.wrap.getBoundingClientRect().right > cardBox.right + 1 || job.row.scrollWidth > job.row.clientWidth + 1;
  }

  function fitAll() {
    fitScheduled = false;
    const started = now();
    const jobs = [];
    for (const wrap of toFit) {
      const home = homes.get(wrap);
      const row = wrap.parentElement;
      if (!home || !wrap.isConnected || wrap.classList.contains(OWN_LINE) || !row || !row.parentElement) continue;
      jobs.push({ wrap, home, row, line: null });
    }
    toFit.clear();
    if (!jobs.length || dead) return;
    try {
      // Read, with the widgets in their rows (the layout this frame needs anyway): where
      // the cards are, whether each widget fits its card, and the widths of the elements
      // around it (known from the last check, else read now).
      const moves = [];
      const unmeasured = [];
      for (const job of jobs) {
        const cardBox = job.home.card.getBoundingClientRect();
        if (!cardBox.width || !isNear(cardBox)) {
          fitWhenNear(job.wrap); // not rendered (or no layout at all), or off screen
          continue;
        }
        if (overflows(job, cardBox) || (job.home.sizes && squeezes(job.home.sizes))) {
          moves.push(job);
        } else if (!job.home.sizes) {
          job.around = neighbours(job.row, job.home.card);
          job.widths = job.around.map((n) => n.getBoundingClientRect().width);
          unmeasured.push(job);
        }
      }
      // Widgets placed since the last check: the same widths without them, read with them
      // taken out of the flow (one more layout, for all of them together).
      for (const job of unmeasured) job.wrap.classList.add(MEASURING);
      try {
        for (const job of unmeasured) {
          job.home.sizes = job.around.map((n) => [n, n.getBoundingClientRect().width]);
          if (job.home.sizes.some(([, w], i) => job.widths[i] < w - 1)) moves.push(job);
        }
      } finally {
        for (const job of unmeasured) job.wrap.classList.remove(MEASURING);
      }
      for (const job of moves) job.line = lineOf(job.row, job.home.card);
      // Write.
      for (const { wrap, line } of moves) {
        if (!line || !line.parentElement) continue;
        wrap.classList.add(OWN_LINE);
        line.parentElement.insertBefore(wrap, line.nextSibling);
      }
    } catch (e) {
      /* the widgets stay where they are */
    }
    timing("papershelf:fit", started, jobs.length);
  }

  // ------------------------------------------------------------------ timing
  /** A User Timing entry for scripts/bench (the page's own timeline shows it); cleared
   *  every 50 so a long-lived page does not collect them. */
  function timing(name, start, cards) {
    const perf = root.performance;
    if (!perf || typeof perf.measure !== "function") return;
    try {
      if (++timings % 50 === 0) ["papershelf:scan", "papershelf:lookup", "papershelf:fit"].forEach((n) => perf.clearMeasures(n));
      perf.measure(name, { start, end: perf.now(), detail: { cards } });
    } catch (e) {
      /* timing is optional */
    }
  }

  function now() {
    return root.performance && root.performance.now ? root.performance.now() : Date.now();
  }

  // ------------------------------------------------------------------ scanning
  function enabledHere() {
    const view = parse.viewOf(root.location.href);
    return view !== "other" && views[view] !== false;
  }

  function drop(wrap) {
    if (farWatch) farWatch.unobserve(wrap);
    wrap.remove();
  }

  function removeAll() {
    for (const w of doc.querySelectorAll(`.${WIDGET}`)) drop(w);
    widgetsById = new Map();
  }

  function scan() {
    const started = now();
    scanTimer = null;
    if (dead) return;
    if (!enabledHere()) {
      lastResult = null;
      removeAll();
      return;
    }
    const result = parse.parsePage(doc, root.location.href, { lazyRecords: true });
    lastResult = result;
    // Read: the widgets already on the page and where every card's widget has to go…
    const before = doc.querySelectorAll(`.${WIDGET}`);
    const existing = new Map(); // arXiv id → widgets made here, in page order
    for (const w of before) {
      if (!parts.has(w)) continue; // a copy of one (the page cloned a card): replaced
      const id = w.getAttribute("data-papershelf-for");
      if (!existing.has(id)) existing.set(id, []);
      existing.get(id).push(w);
    }
    const plan = [];
    for (const card of result.cards) {
      if (!card.readable) continue; // no button
      const wrap = (existing.get(card.id) || []).find((w) => card.element.contains(w)) || null;
      plan.push({ card, wrap, where: placement(wrap, card) });
    }
    // …then write, without reading layout in between (fitting waits for the next frame).
    // The observer is paused meanwhile: our own insertions need no mutation records, and
    // those it holds already are of changes this scan has just read.
    if (observer) {
      observer.takeRecords();
      observer.disconnect();
    }
    const keep = new Set();
    const fresh = [];
    const byId = new Map();
    try {
      for (const { card, wrap: found, where } of plan) {
        const wrap = found || createWidget(card.id);
        if (where) place(wrap, card, where);
        keep.add(wrap);
        if (!byId.has(card.id)) byId.set(card.id, []);
        byId.get(card.id).push(wrap);
        if (!papers.has(card.id)) {
          papers.set(card.id, { state: "idle", tags: [] });
          fresh.push(card.id);
        }
        const p = papers.get(card.id);
        if (found || p.state !== "idle" || p.queued) render(wrap);
        else requestFit(wrap); // a new widget is made showing the idle state
      }
      widgetsById = byId;
      for (const w of before) if (!keep.has(w)) drop(w); // the widgets made now are all kept
    } finally {
      if (observer && !dead) observer.observe(doc.documentElement, OBSERVED);
    }
    for (const e of result.errors) {
      const key = `${e.arxiv_id}:${e.error}`;
      if (!reportedErrors.has(key)) {
        reportedErrors.add(key);
        console.warn(`[Papershelf] ${e.error}`);
      }
    }
    // The pass over the page ends here; asking the background which cards are saved is
    // timed on its own (papershelf:lookup, from sending to showing the answers).
    timing("papershelf:scan", started, result.cards.length);
    if (fresh.length) lookup(fresh);
  }

  const OBSERVED = { childList: true, subtree: true };

  function scheduleScan() {
    if (!scanTimer && !dead) scanTimer = setTimeout(scan, SCAN_DELAY_MS);
  }

  function isOwn(node) {
    if (!node) return false;
    const element = node.nodeType === 1 ? node : node.parentElement;
    return Boolean(element && element.closest && element.closest(`.${WIDGET}`));
  }

  function onMutations(mutations) {
    for (const m of mutations) {
      if (isOwn(m.target)) continue;
      const nodes = [...m.addedNodes, ...m.removedNodes];
      if (nodes.length && nodes.every((n) => (n.nodeType === 1 && n.classList.contains(WIDGET)) || isOwn(n))) continue;
      scheduleScan();
      return;
    }
  }

  // ------------------------------------------------------------------ backend (via background)
  async function lookup(ids) {
    const started = now();
    const answer = await send({ type: "lookup", ids });
    const found = (answer && answer.papers) || {};
    const queued = new Set((answer && answer.queued) || []);
    for (const id of ids) {
      const p = papers.get(id);
      if (!p) continue;
      if (found[id]) {
        Object.assign(p, { state: "saved", queued: false, paperId: found[id].id, tags: found[id].tags || [], error: null });
      } else if (queued.has(id)) {
        if (p.state !== "saved") Object.assign(p, { state: "saving", queued: true, message: "waiting in the outbox" });
      } else if (p.queued) {
        // It left the outbox without arriving: the backend rejected it (listed in the popup).
        Object.assign(p, { state: "error", queued: false, error: "Papershelf rejected it: see the popup" });
      }
      renderId(id);
    }
    timing("papershelf:lookup", started, ids.length);
  }

  function recordFor(id) {
    if (!lastResult) scan();
    const card = lastResult && lastResult.cards.find((c) => c.id === id && c.readable);
    return card ? card.record : null;
  }

  /** Save some cards; resolves {saved, queued, failed}. */
  async function saveIds(ids) {
    const cards = [];
    for (const id of ids) {
      const rec = recordFor(id);
      const p = papers.get(id) || { tags: [] };
      papers.set(id, p);
      if (!rec) {
        Object.assign(p, { state: "error", error: "this card could not be read" });
        renderId(id);
        continue;
      }
      Object.assign(p, { state: "saving", queued: false, error: null });
      renderId(id);
      cards.push(rec);
    }
    const out = { saved: 0, queued: 0, failed: 0 };
    if (!cards.length) return out;
    const source = { url: root.location.href, view: parse.viewOf(root.location.href) };
    const answer = await send({ type: "save", cards, source });
    if (answer.ok) {
      (answer.results || []).forEach((r, i) => {
        const id = r.arxiv_id || cards[i].arxiv_id;
        const p = papers.get(id);
        if (r.paper) {
          Object.assign(p, { state: "saved", queued: false, paperId: r.paper.id, tags: r.paper.tags || [], error: null });
          out.saved += 1;
          announce(id, r.status === "created" ? "Saved to Papershelf" : "Already in Papershelf: updated");
        } else {
          Object.assign(p, { state: "error", error: "the backend did not return the paper" });
          out.failed += 1;
        }
        renderId(id);
      });
    } else if (answer.queued) {
      for (const c of cards) {
        Object.assign(papers.get(c.arxiv_id), { state: "saving", queued: true, message: answer.message });
        renderId(c.arxiv_id);
        announce(c.arxiv_id, "Papershelf is not reachable: the save waits in the outbox");
      }
      out.queued += cards.length;
    } else if (cards.length > 1) {
      // A batch is all-or-nothing: find the bad card(s) one by one.
      for (const c of cards) {
        const r = await saveIds([c.arxiv_id]);
        out.saved += r.saved;
        out.queued += r.queued;
        out.failed += r.failed;
      }
    } else {
      const id = cards[0].arxiv_id;
      Object.assign(papers.get(id), { state: "error", error: answer.error || "unknown error" });
      renderId(id);
      announce(id, `Could not save: ${answer.error || "unknown error"}`);
      out.failed += 1;
    }
    return out;
  }

  function onButton(id) {
    const p = papers.get(id);
    if (p && p.state === "saving" && !p.queued) return; // already on its way
    saveIds([id]);
  }

  let saveAllRunning = null;
  function saveAll() {
    if (saveAllRunning) return saveAllRunning;
    saveAllRunning = (async () => {
      scan();
      const ids = [];
      for (const c of (lastResult && lastResult.cards) || []) {
        if (c.readable && !ids.includes(c.id)) ids.push(c.id);
      }
      const todo = ids.filter((id) => (papers.get(id) || {}).state !== "saved");
      const progress = { type: "saveAllProgress", url: root.location.href, total: ids.length, already: ids.length - todo.length, done: 0, saved: 0, queued: 0, failed: 0, finished: false };
      send(progress);
      for (let i = 0; i < todo.length; i += SAVE_ALL_CHUNK) {
        const chunk = todo.slice(i, i + SAVE_ALL_CHUNK);
        const r = await saveIds(chunk);
        progress.done += chunk.length;
        progress.saved += r.saved;
        progress.queued += r.queued;
        progress.failed += r.failed;
        send({ ...progress });
      }
      progress.finished = true;
      send({ ...progress });
      return progress;
    })();
    const done = () => {
      saveAllRunning = null;
    };
    saveAllRunning.then(done, done);
    return saveAllRunning;
  }

  // ------------------------------------------------------------------ tags in the page
  function openTagInput(wrap) {
    const input = tagInput(wrap);
    const { tagBtn } = extras(wrap);
    input.hidden = false;
    tagBtn.hidden = true;
    input.focus();
  }

  function closeTagInput(wrap, refocus) {
    const { input, tagBtn } = parts.get(wrap);
    if (input) {
      input.value = "";
      input.hidden = true;
    }
    render(wrap);
    if (refocus && tagBtn) tagBtn.focus();
  }

  async function changeTags(id, add, remove) {
    const p = papers.get(id);
    if (!p || !p.paperId) return;
    const answer = await send({ type: "changeTags", paperId: p.paperId, add, remove });
    if (answer.ok && answer.paper) {
      p.tags = answer.paper.tags || [];
      announce(id, `Tags: ${p.tags.join(", ") || "none"}`);
    } else {
      announce(id, `Could not change tags: ${answer.error || "unknown error"}`);
    }
    renderId(id);
  }

  function onTagKey(e, id, wrap) {
    e.stopPropagation(); // keep the page's keyboard shortcuts out of the input
    const input = e.target;
    if (e.key === "Enter") {
      e.preventDefault();
      const tag = input.value.trim();
      if (tag) {
        input.value = "";
        changeTags(id, [tag], []);
      }
    } else if (e.key === "Escape") {
      e.preventDefault();
      closeTagInput(wrap, true);
    } else if (e.key === "Backspace" && !input.value) {
      const p = papers.get(id);
      if (p && p.tags && p.tags.length) {
        e.preventDefault();
        changeTags(id, [], [p.tags[p.tags.length - 1]]);
      }
    }
  }

  // ------------------------------------------------------------------ messages from the extension
  function pageInfo() {
    const cards = [];
    const seen = new Set();
    for (const c of (lastResult && lastResult.cards) || []) {
      if (seen.has(c.id)) continue;
      seen.add(c.id);
      const p = papers.get(c.id) || {};
      cards.push({
        arxiv_id: c.id,
        title: c.title,
        state: c.readable ? p.state || "idle" : "unreadable",
        queued: Boolean(p.queued),
        paperId: p.paperId || null,
        tags: p.tags || [],
        error: c.error || p.error || null,
      });
    }
    return {
      url: root.location.href,
      view: parse.viewOf(root.location.href),
      enabled: enabledHere(),
      cards,
      errors: lastResult ? lastResult.errors.length : 0,
      saving: Boolean(saveAllRunning),
    };
  }

  function onMessage(msg, sender, sendResponse) {
    if (!msg || typeof msg !== "object") return false;
    if (msg.type === "saveAll") {
      saveAll().then(sendResponse, (e) => sendResponse({ ok: false, error: String(e) }));
      return true;
    }
    if (msg.type === "pageInfo") {
      if (!lastResult) scan();
      sendResponse(pageInfo());
      return false;
    }
    if (msg.type === "delivered") {
      for (const [id, paper] of Object.entries(msg.papers || {})) {
        const p = papers.get(id);
        if (!p) continue;
        Object.assign(p, { state: "saved", queued: false, paperId: paper.id, tags: paper.tags || [], error: null });
        renderId(id);
        announce(id, "Delivered to Papershelf");
      }
      return false;
    }
    if (msg.type === "paperUpdated" && msg.paper && msg.paper.arxiv_id) {
      const p = papers.get(msg.paper.arxiv_id);
      if (p) {
        Object.assign(p, { state: "saved", queued: false, paperId: msg.paper.id, tags: msg.paper.tags || [] });
        renderId(msg.paper.arxiv_id);
      }
      return false;
    }
    if (msg.type === "settingsChanged") {
      // Paired, unpaired or another backend: ask again what is saved.
      const ids = [];
      for (const [id, p] of papers) {
        if (p.state !== "saving" || p.queued) {
          Object.assign(p, { state: "idle", queued: false, paperId: null, tags: [], error: null });
          ids.push(id);
        }
      }
      for (const id of ids) renderId(id);
      if (ids.length) lookup(ids);
      return false;
    }
    return false;
  }

  // ------------------------------------------------------------------ start
  function shutDown() {
    dead = true;
    if (observer) observer.disconnect();
    if (farWatch) farWatch.disconnect();
    for (const type of WIDGET_EVENTS) root.removeEventListener(type, onWidgetEvent, true);
    if (scanTimer) clearTimeout(scanTimer);
  }

  async function start() {
    try {
      const s = await ext.storage.local.get("views");
      views = { ...DEFAULT_VIEWS, ...(s.views || {}) };
    } catch (e) {
      /* defaults */
    }
    ext.runtime.onMessage.addListener(onMessage);
    ext.storage.onChanged.addListener((changes, area) => {
      if (area === "local" && changes.views) {
        views = { ...DEFAULT_VIEWS, ...(changes.views.newValue || {}) };
        scheduleScan();
      }
    });
    observer = new MutationObserver(onMutations);
    observer.observe(doc.documentElement, OBSERVED);
    for (const type of WIDGET_EVENTS) root.addEventListener(type, onWidgetEvent, true);
    root.addEventListener("popstate", scheduleScan);
    root.addEventListener("resize", scheduleScan);
    scan();
  }

  const api = { scan, saveAll, pageInfo, papers };
  P.decorate = api;
  if (typeof module !== "undefined" && module.exports) module.exports = api;
  if (doc && ext && ext.runtime && ext.runtime.id) start();
})(typeof globalThis !== "undefined" ? globalThis : this);
