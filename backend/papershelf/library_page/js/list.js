// A virtualised paper list: only the rows in (and just around) the viewport exist in the
// DOM, and rows are fetched from the backend a page at a time (limit/offset), so 50,000
// papers cost the same as 50.
import { api } from "./api.js";
import { h, icon, firstAuthors, shortDate, relTime, clear } from "./dom.js";
import { FIRST_ROWS } from "./query.js";

const PAGE = 100;          // rows per page (the API allows up to 500); a new query's first
                           // request asks only for the FIRST_ROWS of page 0, a screenful
const OVERSCAN = 8;        // rows rendered above and below the viewport
const MAX_PAGES = 40;      // pages kept in memory (4,000 rows)
const FETCH_DELAY = 40;    // ms: wait for a fast scroll to settle before fetching

export class PaperList {
  /**
   * @param {HTMLElement} viewport  scrolling element (the list body)
   * @param {object} hooks  {onOpen(paper, index), onSelection(set), onTotal(total, loaded), onCursor(index), onToggleStar(paper), onError(err),
   *                          onIdle() (no page is being fetched), superseded() (true: a newer query is about to replace this one)}
   */
  constructor(viewport, hooks) {
    this.viewport = viewport;
    this.hooks = hooks;
    this.rowHeight = 36;
    this.params = {};
    this.total = 0;
    this.loadedOnce = false;
    this.gen = 0;
    this.pages = new Map();     // page index -> [paper]
    this.stale = new Map();     // shown while a reload or a new query is in flight
    this.inflight = new Map();  // page index -> AbortController
    this.rowEls = new Map();    // row index -> element
    this.free = [];
    this.selected = new Set();  // paper ids
    this.anchor = null;         // index for shift-click ranges
    this.cursor = -1;           // keyboard cursor (row index)
    this.openId = null;
    this.offered = null;        // a first page already requested (start.js)
    this.replacing = false;     // the rows on screen belong to the previous query
    /** Settles when the first answer (or failure) of the list has been taken in. */
    this.ready = new Promise((resolve) => { this._ready = resolve; });

    this.sizer = h("div", { class: "list-sizer" });
    this.rowsBox = h("div", { class: "list-rows", role: "rowgroup" });
    viewport.append(this.sizer, this.rowsBox);

    this._raf = 0;
    this._fetchTimer = 0;
    this._scrolled = false;     // scrolled since the last setParams
    // The viewport's scroll offset and height, kept from its events: reading them while
    // rendering would make the browser lay out the rows just changed, once more per render.
    this.top = 0;
    this.height = 0;
    this._sizerHeight = -1;
    viewport.addEventListener("scroll", () => {
      this.top = viewport.scrollTop;
      this._scrolled = true;
      this.schedule();
    }, { passive: true });
    new ResizeObserver((entries) => {
      const box = entries[entries.length - 1].contentRect;
      this.height = box.height;
      this.schedule();
    }).observe(viewport);
    this.rowsBox.addEventListener("click", (e) => this._onClick(e));
    this.rowsBox.addEventListener("dblclick", (e) => {
      const row = e.target.closest(".row");
      if (row) this.open(Number(row.dataset.index));
    });
  }

  // ---- data ---------------------------------------------------------------
  /** {key, promise, controller}: an answer for page 0 requested before the list existed,
   * used by the next setParams whose params have that key (JSON), else dropped. */
  offer(first) {
    this.offered = first;
  }

  /** New query (filters, search, sort): forget everything and start at the top. The rows on
   * screen stay (busy) until the new query's first page replaces them. */
  setParams(params) {
    this.params = { ...params };
    this.gen++;
    this._abortAll();
    if (this.loadedOnce) for (const [k, v] of this.pages) this.stale.set(k, v);
    else if (!this.replacing) this.stale.clear();
    this.pages.clear();
    this.replacing = true;
    this.cursor = -1;
    this.anchor = null;
    if (this._scrolled) {
      // (only when needed: setting scrollTop makes the browser lay the page out now)
      this.viewport.scrollTop = 0;
      this.top = 0;
      this._scrolled = false;
    }
    this.loadedOnce = false;
    if (!this.stale.size) this._recycleAll();
    this.viewport.dataset.busy = "true";
    this._fetchPage(0, FIRST_ROWS);
    this.schedule();
  }

  /** True while a page of the list is being fetched. */
  loading() {
    return this.inflight.size > 0;
  }

  /** Same query, fresh data (after an edit): keep scroll position, no flicker. */
  reload() {
    this.viewport.dataset.busy = "true";
    this.gen++;
    this._abortAll();
    for (const [k, v] of this.pages) this.stale.set(k, v);
    this.pages.clear();
    const [first, last] = this._range();
    const p0 = Math.floor(first / PAGE), p1 = Math.floor(Math.max(first, last - 1) / PAGE);
    for (let p = p0; p <= p1; p++) this._fetchPage(p);
    if (p0 > p1) this._fetchPage(0);
  }

  _abortAll() {
    for (const c of this.inflight.values()) c.abort();
    this.inflight.clear();
  }

  /** Page p holds every row it will (a first answer holds only the top of page 0). */
  _complete(p) {
    const rows = this.pages.get(p);
    return !!rows && (rows.length >= PAGE || p * PAGE + rows.length >= this.total);
  }

  _request(offset, limit) {
    const offered = this.offered;
    this.offered = null;
    if (offered) {
      if (offset === 0 && offered.key === JSON.stringify(this.params)) return offered;
      offered.controller.abort();
    }
    const controller = new AbortController();
    const promise = api.listPapers({ ...this.params, limit, offset }, controller.signal);
    return { promise, controller };
  }

  /** Fetch the rows of page p it does not hold yet (at most `limit` of them). */
  async _fetchPage(p, limit = PAGE) {
    if (this._complete(p) || this.inflight.has(p)) return;
    const have = this.pages.get(p) || [];
    const { promise, controller } = this._request(p * PAGE + have.length, Math.min(limit, PAGE - have.length));
    this.inflight.set(p, controller);
    const gen = this.gen;
    try {
      const data = await promise;
      if (gen !== this.gen) return;
      this.inflight.delete(p);
      // An answer to a query the user has already typed past is not shown: the rows on
      // screen stay until the newer query's answer (onIdle sends it).
      if (this.replacing && this.hooks.superseded && this.hooks.superseded()) return;
      const fresh = this.replacing || !this.loadedOnce;
      if (this.replacing) {
        // the previous query's rows give way to this one's
        this.replacing = false;
        this.stale.clear();
      }
      this.pages.set(p, have.concat(data.papers || []));
      this.stale.delete(p);
      const total = typeof data.total === "number" ? data.total : (data.papers || []).length;
      if (total !== this.total || !this.loadedOnce) {
        this.total = total;
        this.loadedOnce = true;
        // stale pages beyond the end are gone
        for (const k of [...this.stale.keys()]) if (k * PAGE >= total) this.stale.delete(k);
        this.hooks.onTotal && this.hooks.onTotal(total);
      }
      this._evict(p);
      // A new query's rows: those on screen at once, the ones kept ready past its edges in
      // the next frame (fewer rows to lay out before the answer can be seen).
      this.renderNow(fresh ? 0 : OVERSCAN);
      if (fresh) this.schedule();
      this._ready();
    } catch (e) {
      if (gen !== this.gen || (e && e.name === "AbortError")) return;
      this.inflight.delete(p);
      if (this.replacing) {
        this.replacing = false;
        this.stale.clear();
        this.schedule();
      }
      this._ready();
      if (this.hooks.onError) this.hooks.onError(e);
    } finally {
      if (gen === this.gen && !this.inflight.size && this.hooks.onIdle) this.hooks.onIdle();
    }
  }

  _evict(center) {
    if (this.pages.size <= MAX_PAGES) return;
    const keys = [...this.pages.keys()].sort((a, b) => Math.abs(b - center) - Math.abs(a - center));
    while (this.pages.size > MAX_PAGES) this.pages.delete(keys.shift());
  }

  /** The paper at row i of the current query (null while it is not loaded). */
  paperAt(i) {
    return this._at(i, !this.replacing);
  }

  _at(i, withStale) {
    if (i < 0 || i >= this.total) return null;
    const p = Math.floor(i / PAGE);
    const page = this.pages.get(p) || (withStale ? this.stale.get(p) : null);
    return page ? page[i - p * PAGE] || null : null;
  }

  /** Replace a paper everywhere it is cached (after a PATCH) and redraw its row. */
  updatePaper(paper) {
    for (const src of [this.pages, this.stale]) {
      for (const rows of src.values()) {
        const j = rows.findIndex((r) => r.id === paper.id);
        if (j >= 0) rows[j] = paper;
      }
    }
    this.schedule();
  }

  /** Every id matching the current query (pages of 500): for "select all". */
  async allIds() {
    const ids = [];
    for (let off = 0; off < this.total; off += 500) {
      const data = await api.listPapers({ ...this.params, limit: 500, offset: off });
      for (const p of data.papers || []) ids.push(p.id);
      if (!data.papers || data.papers.length < 500) break;
    }
    return ids;
  }

  // ---- rendering ------------------------------------------------------------
  schedule() {
    if (this._raf) return;
    this._raf = requestAnimationFrame(() => { this._raf = 0; this.render(); });
  }

  /** Render at once (fresh rows arrived: they are shown in this task, not the next frame). */
  renderNow(overscan = OVERSCAN) {
    if (this._raf) { cancelAnimationFrame(this._raf); this._raf = 0; }
    this.render(overscan);
  }

  _range(overscan = OVERSCAN) {
    const rh = this.rowHeight;
    // Before the first resize report (and while the list is hidden) the window's height
    // less the bars above the list stands in: asking the viewport would lay out the page
    // before its first rows are in it.
    const height = this.height || Math.max(rh, (window.innerHeight || 900) - 120);
    // a shorter list than the offset scrolled to: the browser is about to scroll back
    const top = Math.max(0, Math.min(this.top, this.total * rh - height));
    const first = Math.max(0, Math.floor(top / rh) - overscan);
    const last = Math.min(this.total, Math.ceil((top + height) / rh) + overscan);
    return [first, last];
  }

  render(overscan = OVERSCAN) {
    const [first, last] = this._range(overscan);
    if (this._sizerHeight !== this.total) {
      this._sizerHeight = this.total;
      this.sizer.style.height = `${this.total * this.rowHeight}px`;
    }
    // recycle rows that scrolled away
    for (const [i, el] of this.rowEls) {
      if (i < first || i >= last) {
        this.rowEls.delete(i);
        el.hidden = true;
        this.free.push(el);
      }
    }
    let missing = false;
    let usedStale = false;
    for (let i = first; i < last; i++) {
      const paper = this._at(i, true);
      if (!paper) missing = true;
      else if (!this.pages.has(Math.floor(i / PAGE))) usedStale = true;
      let el = this.rowEls.get(i);
      if (!el) {
        el = this.free.pop() || this._newRow();
        el.hidden = false;
        el._paper = undefined;
        this.rowEls.set(i, el);
      }
      this._fill(el, i, paper);
    }
    if (missing) {
      clearTimeout(this._fetchTimer);
      this._fetchTimer = setTimeout(() => {
        const [f, l] = this._range();
        for (let p = Math.floor(f / PAGE); p <= Math.floor(Math.max(f, l - 1) / PAGE); p++) {
          if (!this._complete(p)) this._fetchPage(p);
        }
      }, FETCH_DELAY);
    }
    this.viewport.dataset.rendered = String(this.rowEls.size);
    this.viewport.dataset.total = String(this.total);
    // For tests and scripts: "false" once the rows on screen show fresh data.
    this.viewport.dataset.busy = missing || usedStale || !this.loadedOnce ? "true" : "false";
  }

  _newRow() {
    const cells = {
      check: h("span", { class: "cell c-check" }, h("input", { type: "checkbox", class: "row-check", "aria-label": "Select", tabindex: "-1" })),
      star: h("span", { class: "cell c-star" }, h("button", { class: "star-btn", "aria-label": "Star", tabindex: "-1" }, icon("star"))),
      title: h("span", { class: "cell c-title" }),
      authors: h("span", { class: "cell c-authors" }),
      date: h("span", { class: "cell c-date" }),
      upvotes: h("span", { class: "cell c-upvotes" }),
      tags: h("span", { class: "cell c-tags" }),
      added: h("span", { class: "cell c-added" }),
    };
    const el = h("div", { class: "row", role: "row" }, Object.values(cells));
    el._cells = cells;
    this.rowsBox.appendChild(el);
    return el;
  }

  _fill(el, i, paper) {
    const sel = paper ? this.selected.has(paper.id) : false;
    const cur = i === this.cursor;
    const open = paper ? paper.id === this.openId : false;
    const key = `${i}|${sel}|${cur}|${open}`;
    if (el._paper === paper && el._key === key) return;
    el._key = key;
    el.style.transform = `translateY(${i * this.rowHeight}px)`;
    el.dataset.index = String(i);
    el.classList.toggle("selected", sel);
    el.classList.toggle("cursor", cur);
    el.classList.toggle("open", open);
    el.setAttribute("aria-selected", sel ? "true" : "false");
    el._cells.check.firstChild.checked = sel;
    if (el._paper === paper) return;
    el._paper = paper;
    const c = el._cells;
    if (!paper) {
      el.classList.add("loading");
      el.dataset.id = "";
      for (const k of ["title", "authors", "date", "upvotes", "added"]) { c[k].textContent = ""; c[k].title = ""; }
      clear(c.tags);
      c.tags._key = undefined;
      c.title.appendChild(h("span", { class: "skeleton" }));
      c.check.firstChild.checked = false;
      return;
    }
    el.classList.remove("loading");
    const id = String(paper.id);
    if (el.dataset.id !== id) el.dataset.id = id;
    el.classList.toggle("unread", !paper.read);
    el.classList.toggle("starred", !!paper.starred);
    c.check.firstChild.checked = sel;
    c.star.firstChild.setAttribute("aria-pressed", paper.starred ? "true" : "false");
    // A cell is written only when what it shows changes: rewriting the same text would
    // make the browser lay the row out (and shape its text) again, for nothing.
    setText(c.title, paper.title || "(untitled)", paper.title || "");
    setText(c.authors, firstAuthors(paper), (paper.authors || []).join(", "));
    setText(c.date, shortDate(paper.published));
    setText(c.upvotes, paper.upvotes == null ? "" : String(paper.upvotes));
    const tags = (paper.tags || []);
    const tagsKey = [tags.length, ...tags.slice(0, 4)].join("\n");
    if (c.tags._key !== tagsKey) {
      c.tags._key = tagsKey;
      clear(c.tags);
      for (const t of tags.slice(0, 4)) c.tags.appendChild(h("span", { class: "chip small" }, t));
      if (tags.length > 4) c.tags.appendChild(h("span", { class: "more" }, `+${tags.length - 4}`));
    }
    setText(c.added, relTime(paper.added_at), paper.added_at || "");
  }

  _recycleAll() {
    for (const [i, el] of this.rowEls) { el.hidden = true; this.free.push(el); }
    this.rowEls.clear();
  }

  // ---- selection, cursor ---------------------------------------------------------
  _onClick(e) {
    const row = e.target.closest(".row");
    if (!row || row.classList.contains("loading")) return;
    const i = Number(row.dataset.index);
    const paper = this.paperAt(i);
    if (!paper) return;
    if (e.target.closest(".star-btn")) {
      e.stopPropagation();
      this.hooks.onToggleStar && this.hooks.onToggleStar(paper);
      return;
    }
    if (e.target.closest(".c-check")) {
      if (e.target.tagName !== "INPUT") e.preventDefault();
      if (e.shiftKey && this.anchor !== null) this._selectRange(this.anchor, i, true);
      else this.toggleSelect(paper.id);
      this.anchor = i;
      this.setCursor(i, false);
      return;
    }
    if (e.shiftKey && this.anchor !== null) {
      this._selectRange(this.anchor, i, !(e.ctrlKey || e.metaKey));
      this.setCursor(i, false);
      return;
    }
    if (e.ctrlKey || e.metaKey) {
      this.toggleSelect(paper.id);
      this.anchor = i;
      this.setCursor(i, false);
      return;
    }
    this.anchor = i;
    this.setCursor(i, false);
    this.open(i);
  }

  _selectRange(a, b, replace) {
    if (replace) this.selected.clear();
    const [lo, hi] = a < b ? [a, b] : [b, a];
    for (let k = lo; k <= hi; k++) {
      const p = this.paperAt(k);
      if (p) this.selected.add(p.id);
    }
    this._selectionChanged();
  }

  toggleSelect(id) {
    if (this.selected.has(id)) this.selected.delete(id); else this.selected.add(id);
    this._selectionChanged();
  }

  setSelection(ids) {
    this.selected = new Set(ids);
    this._selectionChanged();
  }

  clearSelection() {
    if (!this.selected.size) return;
    this.selected.clear();
    this._selectionChanged();
  }

  _selectionChanged() {
    for (const el of this.rowEls.values()) el._key = null;
    this.schedule();
    this.hooks.onSelection && this.hooks.onSelection(this.selected);
  }

  setCursor(i, scroll = true) {
    if (this.total === 0) { this.cursor = -1; return; }
    i = Math.max(0, Math.min(this.total - 1, i));
    this.cursor = i;
    if (scroll) this.scrollToIndex(i);
    this.schedule();
    this.hooks.onCursor && this.hooks.onCursor(i);
  }

  moveCursor(delta) {
    this.setCursor(this.cursor < 0 ? 0 : this.cursor + delta);
  }

  scrollToIndex(i) {
    const rh = this.rowHeight;
    const top = i * rh;
    const vp = this.viewport;
    if (top < vp.scrollTop) vp.scrollTop = top;
    else if (top + rh > vp.scrollTop + vp.clientHeight) vp.scrollTop = top + rh - vp.clientHeight;
    this.top = vp.scrollTop;
  }

  open(i) {
    const paper = this.paperAt(i);
    if (!paper) return;
    this.cursor = i;
    this.openId = paper.id;
    this.schedule();
    this.hooks.onOpen && this.hooks.onOpen(paper, i);
  }

  setOpenId(id) {
    this.openId = id;
    for (const el of this.rowEls.values()) el._key = null;
    this.schedule();
  }
}

/** Show `text` (and `tooltip`, if given) in a cell, touching the DOM only if they differ. */
function setText(cell, text, tooltip) {
  if (cell.textContent !== text) cell.textContent = text;
  if (tooltip !== undefined && cell.title !== tooltip) cell.title = tooltip;
}
