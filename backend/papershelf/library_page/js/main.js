// Papershelf library page: wires the list, sidebar, detail pane, views and keyboard.
import { firstPage } from "./start.js";
import { api, onConnectivity } from "./api.js";
import { DEFAULTS, SORTS, parseHash, listParams, effectiveSort as sortOf, effectiveOrder as orderOf } from "./query.js";
import { h, $, $$, clear, icon, debounce, plural, formatNumber, loadNumberFormat, numberFormatLoaded } from "./dom.js";
import { PaperList } from "./list.js";
import { DetailPane } from "./detail.js";
import { DuplicatesView } from "./duplicates.js";
import { TagsView } from "./tagsview.js";
import { PairingView } from "./pairing.js";
import { toast, errorToast, modal, modalOpen, promptDialog } from "./ui.js";
import { attachTagAutocomplete } from "./tagedit.js";
import { exportBibtex, importBibtex, inDesktop } from "./export.js";

// ---------------------------------------------------------------- state ----
const state = { view: "library", ...DEFAULTS };
let lastUndo = null; // {id, label}

const effectiveSort = () => sortOf(state);
const effectiveOrder = () => orderOf(state);
const queryParams = () => listParams(state);
const hasFilters = () => !!(state.q || state.tag || state.read || state.starred || state.trash);

// ---------------------------------------------------------------- hash ----
function readHash() {
  const { view, filters } = parseHash(location.hash);
  state.view = view;
  if (filters) Object.assign(state, filters); // other views keep the library's filters
}
function hashFor(view, st = state) {
  const u = new URLSearchParams();
  if (view === "library") {
    if (st.q) u.set("q", st.q);
    if (st.tag) u.set("tag", st.tag);
    if (st.read) u.set("read", st.read);
    if (st.starred) u.set("starred", "1");
    if (st.trash) u.set("trash", "1");
    if (st.sort) u.set("sort", st.sort);
    if (st.order) u.set("order", st.order);
  }
  const s = u.toString();
  return `#/${view}${s ? `?${s}` : ""}`;
}
// How often the page asks for pending pairing requests while it is shown.
const PAIRING_POLL_MS = 5000;
// Writing the address (history.replaceState) takes the page several milliseconds and makes
// the browser fetch and decode the page's icon again: while the search box is being typed
// in, the address follows when the typing pauses.
const HASH_DELAY = 300;
let hashTimer = 0;
function writeHash(later = false) {
  clearTimeout(hashTimer);
  hashTimer = 0;
  if (later) { hashTimer = setTimeout(writeHash, HASH_DELAY); return; }
  const target = hashFor(state.view);
  if (location.hash !== target) history.replaceState(null, "", target);
}

// ---------------------------------------------------------------- elements ----
const els = {};
let list, detail, dups, tagsView, pairing;

function buildLayout() {
  const app = $("#app");
  clear(app);

  els.search = h("input", { type: "search", id: "search", class: "search-input", placeholder: "Search titles, abstracts, authors, tags", "aria-label": "Search", autocomplete: "off", spellcheck: "false" });
  els.searchKbd = h("kbd", { class: "search-kbd", "aria-hidden": "true" }, "/");
  els.dupBadge = h("span", { class: "badge count", id: "dup-count", hidden: true });
  els.pairBadge = h("span", { class: "badge count attention", id: "pair-count", hidden: true });
  els.themeBtn = h("button", { type: "button", class: "icon-btn", id: "theme-toggle", "aria-label": "Theme" });
  els.helpBtn = h("button", { type: "button", class: "icon-btn", id: "help-btn", "aria-label": "Keyboard shortcuts", title: "Keyboard shortcuts (?)" }, icon("keyboard"));
  const tab = (view, label, badge) => h("a", { href: `#/${view}`, class: "tab", dataset: { view }, id: `tab-${view}` }, label, badge || null);

  const topbar = h("header", { class: "topbar" },
    h("a", { class: "brand", href: "#/library", "aria-label": "Papershelf library" }, h("span", { class: "logo" }, icon("book")), h("span", { class: "brand-name" }, "Papershelf")),
    h("div", { class: "search" }, icon("search", "icon search-icon"), els.search, els.searchKbd),
    h("nav", { class: "tabs", "aria-label": "Views" },
      tab("library", "Library"), tab("duplicates", "Duplicates", els.dupBadge), tab("tags", "Tags"), tab("pairing", "Pairing", els.pairBadge)),
    h("div", { class: "top-actions" }, els.themeBtn, els.helpBtn));

  els.offline = h("div", { class: "banner", id: "offline", role: "alert", hidden: true }, "The Papershelf service is not answering. Is it still running?");

  // sidebar
  els.smart = h("ul", { class: "smart-list" });
  els.tagFilter = h("input", { type: "search", class: "input small", placeholder: "Filter tags", "aria-label": "Filter tags", id: "tag-filter" });
  els.tagList = h("ul", { class: "tag-list", id: "tag-list" });
  const sidebar = h("aside", { class: "sidebar", "aria-label": "Filters" },
    els.smart,
    h("div", { class: "side-head" }, h("h2", {}, "Tags"), h("a", { href: "#/tags", class: "side-link" }, "Manage")),
    els.tagFilter, els.tagList);

  // list toolbar
  els.count = h("span", { class: "result-count", id: "result-count" });
  els.chips = h("span", { class: "filter-chips", id: "filter-chips" });
  els.readSel = h("select", { id: "read-filter", class: "select small", "aria-label": "Read state" },
    h("option", { value: "" }, "Read and unread"), h("option", { value: "false" }, "Unread"), h("option", { value: "true" }, "Read"));
  els.starBtn = h("button", { type: "button", class: "btn toggle small", id: "starred-filter", "aria-pressed": "false", title: "Only starred", "aria-label": "Only starred" }, icon("star"), h("span", { class: "btn-label" }, "Starred"));
  els.sortSel = h("select", { id: "sort", class: "select small", "aria-label": "Sort by" }, SORTS.map((s) => h("option", { value: s.value }, s.label)));
  els.orderBtn = h("button", { type: "button", class: "btn small", id: "order", "aria-label": "Sort order" });
  els.exportBtn = h("button", { type: "button", class: "btn small", id: "export-btn", title: "Export BibTeX (e)", "aria-label": "Export BibTeX" }, icon("download"), h("span", { class: "btn-label" }, "Export"));
  els.importInput = h("input", { type: "file", accept: ".bib,.bibtex,text/x-bibtex,application/x-bibtex", id: "import-file", hidden: true });
  els.importBtn = h("button", { type: "button", class: "btn small", id: "import-btn", title: "Import a .bib file", "aria-label": "Import BibTeX" }, icon("upload"), h("span", { class: "btn-label" }, "Import"));
  const toolbar = h("div", { class: "list-toolbar" },
    els.count, els.chips, h("span", { class: "spacer" }),
    els.readSel, els.starBtn,
    h("label", { class: "sort-label" }, h("span", { class: "sort-word" }, "Sort"), els.sortSel), els.orderBtn,
    els.importBtn, els.importInput, els.exportBtn);

  // bulk bar
  els.bulkCount = h("strong", { id: "bulk-count" });
  const bb = (id, label, title, fn, cls = "") => {
    const b = h("button", { type: "button", class: `btn small ${cls}`, id, title }, label);
    b.addEventListener("click", fn);
    return b;
  };
  els.bulk = h("div", { class: "bulk-bar", id: "bulk-bar", hidden: true, role: "toolbar", "aria-label": "Selection" },
    els.bulkCount,
    bb("bulk-tag", "Tag…", "Add a tag (t)", () => bulkTag("tag")),
    bb("bulk-untag", "Untag…", "Remove a tag", () => bulkTag("untag")),
    bb("bulk-read", "Mark read", "", () => bulkAction("read")),
    bb("bulk-unread", "Mark unread", "", () => bulkAction("unread")),
    bb("bulk-star", "Star", "", () => bulkAction("star")),
    bb("bulk-export", "Export BibTeX", "Export the selection (e)", () => openExport()),
    bb("bulk-restore", "Restore", "Move out of the trash", () => bulkAction("restore")),
    bb("bulk-delete", "Delete", "Move to trash (Del)", () => bulkAction("delete"), "danger"),
    h("span", { class: "spacer" }),
    bb("bulk-all", "Select all", "Select every paper that matches (Ctrl+A)", () => selectAll(), "ghost"),
    bb("bulk-clear", "Clear", "Clear the selection (Esc)", () => list.clearSelection(), "ghost"));

  const sortHead = (label, sort, cls) => {
    const b = h("button", { type: "button", class: `cell head ${cls}`, dataset: { sort } }, label, h("span", { class: "sort-ind" }));
    b.addEventListener("click", () => {
      if (effectiveSort() === sort) setState({ order: effectiveOrder() === "asc" ? "desc" : "asc", sort });
      else setState({ sort, order: "" });
    });
    return b;
  };
  els.headCheck = h("input", { type: "checkbox", "aria-label": "Select all", id: "head-check" });
  els.head = h("div", { class: "list-head", role: "row" },
    h("span", { class: "cell c-check" }, els.headCheck),
    h("span", { class: "cell c-star" }),
    sortHead("Title", "title", "c-title"),
    h("span", { class: "cell head c-authors" }, "Authors"),
    sortHead("Date", "published", "c-date"),
    sortHead("▲", "upvotes", "c-upvotes"),
    h("span", { class: "cell head c-tags" }, "Tags"),
    sortHead("Added", "added", "c-added"));

  els.viewport = h("div", { class: "list-viewport", id: "list", role: "grid", "aria-label": "Papers", tabindex: "0" });
  els.empty = h("div", { class: "empty-wrap", id: "empty", hidden: true });
  els.detail = h("aside", { class: "detail", id: "detail", hidden: true, "aria-label": "Paper details" });
  els.listPane = h("section", { class: "list-pane" }, toolbar, els.bulk, els.head, els.viewport, els.empty);

  els.viewLibrary = h("div", { class: "view view-library", id: "view-library" }, sidebar, els.listPane, els.detail);
  els.viewDup = h("div", { class: "view page", id: "view-duplicates", hidden: true });
  els.viewTags = h("div", { class: "view page", id: "view-tags", hidden: true });
  els.viewPair = h("div", { class: "view page", id: "view-pairing", hidden: true });
  app.append(topbar, els.offline, h("main", { class: "main" }, els.viewLibrary, els.viewDup, els.viewTags, els.viewPair));
}

// ---------------------------------------------------------------- rendering ----
function renderSmartList(counts) {
  // The entries are made once and then updated in place: rebuilt on every refresh of the
  // counts, a click landing as they refresh would press a button already gone.
  const item = (id, label, ic, active, n, apply) => {
    let b = els.smart.querySelector(`#${id}`);
    if (!b) {
      b = h("button", { type: "button", class: "side-item", id },
        ic ? icon(ic) : null, h("span", { class: "side-label" }, label), h("span", { class: "side-count" }));
      b.addEventListener("click", apply);
      els.smart.appendChild(h("li", {}, b));
    }
    b.classList.toggle("active", active);
    b.setAttribute("aria-current", active ? "true" : "false");
    const count = b.querySelector(".side-count");
    count.hidden = n == null;
    count.textContent = n != null ? formatNumber(n) : "";
  };
  const plain = !state.read && !state.starred && !state.trash;
  item("smart-all", "All papers", "book", plain && !state.tag, counts.all, () => setState({ read: "", starred: false, trash: false, tag: "" }));
  item("smart-unread", "Unread", "check", state.read === "false" && !state.starred && !state.trash, counts.unread, () => setState({ read: "false", starred: false, trash: false }));
  item("smart-starred", "Starred", "star", state.starred && !state.read && !state.trash, counts.starred, () => setState({ starred: true, read: "", trash: false }));
  item("smart-trash", "Trash", "trash", state.trash, counts.trash, () => setState({ trash: true, read: "", starred: false, tag: "" }));
}

let tagData = [];
let counts = {};
function renderTags() {
  const f = els.tagFilter.value.trim().toLowerCase();
  const shown = tagData.filter((t) => !f || t.name.toLowerCase().includes(f));
  // A tag's entry is kept from one refresh to the next (see renderSmartList).
  const kept = new Map([...els.tagList.querySelectorAll(".tag-item")].map((b) => [b.dataset.tag, b.parentElement]));
  const items = shown.map((t) => {
    let li = kept.get(t.name);
    if (!li) {
      const b = h("button", { type: "button", class: "side-item tag-item", dataset: { tag: t.name } },
        h("span", { class: "side-label" }, t.name), h("span", { class: "side-count" }));
      b.addEventListener("click", () => setState({ tag: state.tag === t.name ? "" : t.name, trash: false }));
      li = h("li", {}, b);
    }
    const b = li.firstChild;
    const active = state.tag === t.name;
    b.classList.toggle("active", active);
    b.setAttribute("aria-pressed", active ? "true" : "false");
    b.querySelector(".side-count").textContent = formatNumber(t.count);
    return li;
  });
  if (!tagData.length) items.push(h("li", { class: "muted side-note" }, "No tags yet"));
  else if (!shown.length) items.push(h("li", { class: "muted side-note" }, "No tag matches"));
  const now = [...els.tagList.children];
  if (now.length !== items.length || now.some((li, i) => li !== items[i])) els.tagList.replaceChildren(...items);
}

// The sidebar's active entry follows the filters (not the search text).
let sidebarKey = null;
function renderSidebar(force = false) {
  const key = JSON.stringify([state.tag, state.read, state.starred, state.trash]);
  if (key === sidebarKey && !force) return;
  sidebarKey = key;
  renderSmartList(counts);
  renderTags();
}

async function loadSidebar() {
  try {
    const [tags, st, unread, starred] = await Promise.all([
      api.tags(undefined, 1000),
      api.status().catch(() => null),
      api.listPapers({ read: "false", limit: 1 }),
      api.listPapers({ starred: "true", limit: 1 }),
    ]);
    tagData = tags.tags || [];
    counts = {
      all: st ? st.papers : undefined,
      trash: st ? st.trash : undefined,
      unread: unread.total,
      starred: starred.total,
    };
    renderSidebar(true);
    document.body.dataset.sidebar = "loaded";
  } catch { /* offline banner */ }
}
const refreshSidebar = debounce(loadSidebar, 150);

// Each keystroke in the search box comes here: the parts that do not depend on the search
// text are left alone unless what they show has changed (each change costs a layout).
let toolbarKey = null;
let chipsKey = null;
function renderToolbar() {
  els.search.value !== state.q && document.activeElement !== els.search && (els.search.value = state.q);
  const key = JSON.stringify([state.read, state.starred, state.trash, effectiveSort(), effectiveOrder(), !!state.q]);
  if (key !== toolbarKey) {
    toolbarKey = key;
    renderControls();
  }
  const chips = JSON.stringify([state.trash, state.tag, state.q]);
  if (chips !== chipsKey) {
    chipsKey = chips;
    renderChips();
  }
  const href = hashFor("library");
  const tab = $("#tab-library");
  if (tab.getAttribute("href") !== href) tab.setAttribute("href", href);
  renderSidebar();
}

function renderControls() {
  els.readSel.value = state.read;
  els.starBtn.classList.toggle("on", state.starred);
  els.starBtn.setAttribute("aria-pressed", state.starred ? "true" : "false");
  const sort = effectiveSort();
  els.sortSel.value = sort;
  els.sortSel.querySelector('option[value="relevance"]').disabled = !state.q;
  const order = effectiveOrder();
  clear(els.orderBtn);
  if (sort !== "relevance") els.orderBtn.append(order === "asc" ? "↑" : "↓", h("span", { class: "btn-label" }, order === "asc" ? "Ascending" : "Descending"));
  els.orderBtn.title = sort === "relevance" ? "Best matches first" : order === "asc" ? "Ascending (click for descending)" : "Descending (click for ascending)";
  els.orderBtn.hidden = sort === "relevance";
  els.orderBtn.dataset.order = order;
  for (const b of $$(".list-head .head[data-sort]")) {
    const on = b.dataset.sort === sort;
    b.classList.toggle("sorted", on);
    b.querySelector(".sort-ind").textContent = on ? (order === "asc" ? " ↑" : " ↓") : "";
  }
  document.body.classList.toggle("in-trash", state.trash);
}

function renderChips() {
  clear(els.chips);
  const chip = (label, clearFn, id) => {
    const b = h("button", { type: "button", class: "chip filter-chip", id, title: "Remove filter" }, label, h("span", { class: "chip-x", "aria-hidden": "true" }, "×"));
    b.addEventListener("click", clearFn);
    els.chips.appendChild(b);
  };
  if (state.trash) chip("In trash", () => setState({ trash: false }), "chip-trash");
  if (state.tag) chip(`tag: ${state.tag}`, () => setState({ tag: "" }), "chip-tag");
  if (state.q) chip(`“${state.q}”`, () => { els.search.value = ""; setState({ q: "" }); }, "chip-q");
}

function renderCount(total) {
  // (until the locale's number data is loaded, after the first rows: see dom.js)
  if (numberFormatLoaded()) els.count.textContent = state.trash ? `${plural(total, "paper")} in the trash` : plural(total, "paper");
  const empty = total === 0;
  els.viewport.hidden = empty;
  els.head.hidden = empty;
  els.empty.hidden = !empty;
  if (empty) renderEmpty();
}

function renderEmpty() {
  clear(els.empty);
  if (hasFilters()) {
    const reset = h("button", { type: "button", class: "btn", id: "clear-filters" }, "Clear filters");
    reset.addEventListener("click", () => { els.search.value = ""; setState({ ...DEFAULTS }); });
    els.empty.appendChild(h("div", { class: "empty-state small", id: "no-match" },
      h("h2", {}, state.trash ? "The trash is empty" : "No papers match"),
      h("p", { class: "muted" }, state.q ? "Search looks at titles, abstracts, authors and tags, and tolerates typos. Try fewer words." : "Nothing here with these filters."),
      reset));
    return;
  }
  els.empty.appendChild(h("div", { class: "empty-state", id: "empty-library" },
    h("div", { class: "empty-logo" }, icon("book")),
    h("h2", {}, "Your shelf is empty"),
    h("p", {}, "Papershelf keeps the papers you find on Hugging Face’s paper pages. Three steps to fill it:"),
    h("ol", { class: "steps" },
      h("li", {}, h("strong", {}, "Install the extension. "),
        "In Chrome or Chromium open ", h("code", {}, "chrome://extensions"), ", turn on Developer mode, choose “Load unpacked” and pick the ",
        h("code", {}, "extension"), " folder of Papershelf. In Firefox use ", h("code", {}, "about:debugging"), " → “Load Temporary Add-on”."),
      h("li", {}, h("strong", {}, "Pair it with this library. "),
        "Click the Papershelf icon in the toolbar and choose “Connect”. A request with a 4-digit code appears under ",
        h("a", { href: "#/pairing" }, "Pairing"), "; check the code and approve it. (Or paste the output of ", h("code", {}, "papershelf token"), " into the extension’s options.)"),
      h("li", {}, h("strong", {}, "Save papers. "),
        "Browse ", h("a", { href: "https://huggingface.co/papers", target: "_blank", rel: "noopener noreferrer" }, "huggingface.co/papers"),
        " and press Save on a paper, or save the whole page. They show up here, de-duplicated."))));
}

function renderBulk(sel) {
  const n = sel.size;
  els.bulk.hidden = n === 0;
  els.bulkCount.textContent = n ? `${formatNumber(n)} selected` : "";
  els.headCheck.checked = n > 0 && n >= list.total;
  els.headCheck.indeterminate = n > 0 && n < list.total;
  $("#bulk-restore").hidden = !state.trash;
  $("#bulk-delete").hidden = state.trash;
  document.body.classList.toggle("has-selection", n > 0);
}

// ---------------------------------------------------------------- actions ----
/** `typing`: the change comes from the search box (the address follows later). */
function setState(patch, typing = false) {
  Object.assign(state, patch);
  if (state.view !== "library") state.view = "library";
  writeHash(typing);
  applyState();
}

let lastParamsKey = null;
function applyState() {
  // the list's request goes out first; the bars are updated while it is on its way
  const params = queryParams();
  const key = JSON.stringify(params);
  if (key !== lastParamsKey) {
    lastParamsKey = key;
    list.clearSelection();
    list.setParams(params);
  }
  showView(state.view);
  renderToolbar();
}

let shownView = null;
function showView(view) {
  // (the library view has nothing to load when it is shown again)
  if (view === shownView && view === "library") return;
  shownView = view;
  els.viewLibrary.hidden = view !== "library";
  els.viewDup.hidden = view !== "duplicates";
  els.viewTags.hidden = view !== "tags";
  els.viewPair.hidden = view !== "pairing";
  for (const t of $$(".tab")) {
    const on = t.dataset.view === view;
    t.classList.toggle("active", on);
    if (on) t.setAttribute("aria-current", "page"); else t.removeAttribute("aria-current");
  }
  document.body.dataset.view = view;
  pairing.visible = view === "pairing";
  if (view === "duplicates" && !els.viewDup.dataset.loaded) { els.viewDup.dataset.loaded = "1"; dups.load(); }
  if (view === "tags") tagsView.load();
  if (view === "pairing") pairing.load();
}

function dataChanged() {
  list.reload();
  refreshSidebar();
}

function remember(undoId, label) {
  if (undoId) lastUndo = { id: undoId, label };
}

function undoToast(message, undoId, after) {
  remember(undoId, message);
  return toast(message, undoId ? {
    action: { label: "Undo", run: async () => { await doUndo(undoId); if (after) after(); } },
  } : {});
}

async function doUndo(undoId) {
  const res = await api.undo(undoId);
  if (lastUndo && lastUndo.id === undoId) lastUndo = null;
  dataChanged();
  refreshDupCount();
  if (detail.paper) detail.show(detail.paper.id).catch(() => {});
  toast(`Undone (${plural((res.restored || []).length, "paper")})`);
  return res;
}

async function bulkAction(action, tags) {
  const ids = [...list.selected];
  if (!ids.length) return;
  try {
    const res = await api.bulk(ids, action, tags);
    const n = ids.length;
    const labels = {
      tag: `Tagged ${plural(n, "paper")} “${(tags || []).join(", ")}”`,
      untag: `Removed “${(tags || []).join(", ")}” from ${plural(n, "paper")}`,
      read: `Marked ${plural(n, "paper")} read`, unread: `Marked ${plural(n, "paper")} unread`,
      star: `Starred ${plural(n, "paper")}`, unstar: `Unstarred ${plural(n, "paper")}`,
      delete: `Moved ${plural(n, "paper")} to the trash`, restore: `Restored ${plural(n, "paper")}`,
    };
    if (action === "delete" || action === "restore") {
      list.clearSelection();
      if (detail.paper && ids.includes(detail.paper.id)) detail.close();
    }
    for (const p of res.papers || []) { list.updatePaper(p); detail.refreshFrom(p); }
    undoToast(labels[action] || "Done", res.undo);
    dataChanged();
  } catch (e) { errorToast(e); }
}

async function bulkTag(action) {
  if (!list.selected.size) return;
  const name = await promptDialog(action === "tag" ? "Tag papers" : "Remove a tag",
    `${action === "tag" ? "Add a tag to" : "Remove a tag from"} ${plural(list.selected.size, "selected paper")}`, {
      ok: action === "tag" ? "Add tag" : "Remove tag", placeholder: "tag name",
      extra: (input, form) => attachTagAutocomplete(input, { submitOnEnter: false, onPick: (picked) => { input.value = picked; form.requestSubmit(); } }),
    });
  if (name) await bulkAction(action, [name]);
}

async function deleteOne(paper) {
  try {
    const res = await api.deletePaper(paper.id);
    if (detail.paper && detail.paper.id === paper.id) detail.close();
    list.selected.delete(paper.id);
    renderBulk(list.selected);
    undoToast(`Moved “${truncate(paper.title, 60)}” to the trash`, res.undo);
    dataChanged();
  } catch (e) { errorToast(e); }
}

async function toggleStar(paper) {
  try {
    const updated = await api.patchPaper(paper.id, { starred: !paper.starred });
    list.updatePaper(updated);
    detail.refreshFrom(updated);
    refreshSidebar();
  } catch (e) { errorToast(e); }
}

async function selectAll() {
  try {
    const ids = await list.allIds();
    list.setSelection(ids);
  } catch (e) { errorToast(e); }
}

function truncate(s, n) {
  s = String(s || "");
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

// ---------------------------------------------------------------- export ----
function openExport() {
  const sel = list.selected.size ? [...list.selected] : null;
  const options = [];
  if (sel) options.push({ value: "selection", label: `The ${plural(sel.length, "selected paper")}`, arg: { ids: sel } });
  if (state.tag) options.push({ value: "tag", label: `Papers tagged “${state.tag}”`, arg: { tag: state.tag } });
  options.push({ value: "all", label: `The whole library${counts.all != null ? ` (${plural(counts.all, "paper")})` : ""}`, arg: {} });
  const via = inDesktop() ? "You will be asked where to save the .bib file." : "Your browser downloads a .bib file.";
  return modal("Export BibTeX", (close) => {
    const form = h("form", { class: "export-form", id: "export-form" });
    options.forEach((o, i) => form.appendChild(h("label", { class: "radio-row" },
      h("input", { type: "radio", name: "export-what", value: o.value, checked: i === 0 }), h("span", {}, o.label))));
    const go = h("button", { type: "submit", class: "btn primary", id: "export-go", autofocus: true }, icon("download"), "Export");
    form.append(h("p", { class: "muted" }, via),
      h("div", { class: "modal-actions" }, h("button", { type: "button", class: "btn", onclick: () => close() }, "Cancel"), go));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const v = form.querySelector("input[name=export-what]:checked").value;
      const opt = options.find((o) => o.value === v);
      go.disabled = true;
      try {
        const r = await exportBibtex(opt.arg);
        close();
        toast(`Exported ${plural(r.entries, "entry", "entries")} to ${r.downloaded}`);
      } catch (err) { go.disabled = false; errorToast(err); }
    });
    return form;
  });
}

// ---------------------------------------------------------------- import ----
async function importFile(file) {
  let report;
  try {
    report = await importBibtex(await file.text());
  } catch (err) { errorToast(err); return; }
  dataChanged();
  refreshDupCount();
  const summary = `Imported ${file.name}: ${report.created} new, ${report.merged} merged, ` +
    `${report.possible_duplicates} possible duplicates`;
  const problems = [...(report.errors || []).map((e) => `${e.line ? `line ${e.line}` : "entry"}` +
    `${e.key ? ` (${e.key})` : ""}: ${e.message}`),
    ...(report.key_changes || []).map((k) => `key ${k.key} kept as ${k.now}: ${k.message}`)];
  if (!problems.length) { toast(summary); return; }
  modal("Import report", (close) => h("div", { class: "import-report", id: "import-report" },
    h("p", {}, `${summary}; ${plural((report.errors || []).length, "entry", "entries")} skipped.`),
    h("ul", {}, problems.map((p) => h("li", {}, p))),
    h("div", { class: "modal-actions" }, h("button", { type: "button", class: "btn primary", autofocus: true, onclick: () => close() }, "OK"))));
}

// ---------------------------------------------------------------- keyboard ----
const KEYS = [
  ["/", "Search"], ["j / ↓", "Next paper"], ["k / ↑", "Previous paper"], ["Enter", "Open the paper"],
  ["x", "Select / unselect"], ["Shift+click", "Select a range"], ["Ctrl+A", "Select all that match"],
  ["t", "Tag (selection, or the open paper)"], ["s", "Star"], ["r", "Read / unread"], ["Delete", "Move to trash"],
  ["e", "Export BibTeX"], ["Ctrl+Z", "Undo the last change"], ["Esc", "Close / clear"], ["?", "This help"],
];
function showHelp() {
  return modal("Keyboard shortcuts", () => h("table", { class: "keys-table", id: "help-keys" },
    h("tbody", {}, KEYS.map(([k, v]) => h("tr", {}, h("td", {}, k.split(" / ").map((x, i) => [i ? " / " : "", h("kbd", {}, x)])), h("td", {}, v))))));
}

function currentPaper() {
  if (detail.isOpen) return detail.paper;
  return list.paperAt(list.cursor);
}

const NON_TEXT_INPUTS = new Set(["checkbox", "radio", "button", "submit", "reset", "range", "color", "file"]);
function isTyping(t) {
  if (!t) return false;
  if (t.tagName === "INPUT") return !NON_TEXT_INPUTS.has((t.type || "text").toLowerCase());
  return t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable;
}

function onKey(e) {
  if (modalOpen()) return;
  const typing = isTyping(e.target);
  if (e.key === "Escape") {
    if (typing) { e.target.blur(); if (e.target === els.search) els.viewport.focus(); return; }
    if (detail.isOpen) { detail.close(); return; }
    if (list.selected.size) { list.clearSelection(); return; }
    return;
  }
  if (typing) {
    if (e.target === els.search && (e.key === "ArrowDown" || e.key === "Enter")) {
      e.preventDefault();
      search.flush();
      focusList();
    }
    return;
  }
  if (e.altKey) return;
  // Enter and Space belong to a focused button, link or checkbox.
  if ((e.key === "Enter" || e.key === " ") && e.target.closest && e.target.closest("button, a[href], input, label, [role=button]")) return;
  if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "z" && state.view === "library") {
    if (lastUndo) { e.preventDefault(); doUndo(lastUndo.id).catch(errorToast); }
    return;
  }
  if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "a" && state.view === "library") {
    e.preventDefault(); selectAll(); return;
  }
  if (e.ctrlKey || e.metaKey) return;
  if (e.key === "?") { e.preventDefault(); showHelp(); return; }
  if (e.key === "/") { e.preventDefault(); if (state.view !== "library") location.hash = hashFor("library"); els.search.focus(); els.search.select(); return; }
  if (state.view !== "library") return;
  switch (e.key) {
    case "j": case "ArrowDown":
      e.preventDefault(); list.moveCursor(1); if (detail.isOpen) list.open(list.cursor); break;
    case "k": case "ArrowUp":
      e.preventDefault(); list.moveCursor(-1); if (detail.isOpen) list.open(list.cursor); break;
    case "Enter": case "o":
      if (list.cursor < 0) list.setCursor(0);
      e.preventDefault(); list.open(list.cursor); break;
    case "x": case " ": {
      const p = list.paperAt(list.cursor);
      if (p) { e.preventDefault(); list.toggleSelect(p.id); }
      break;
    }
    case "t":
      e.preventDefault();
      if (list.selected.size) bulkTag("tag");
      else {
        const p = currentPaper();
        if (p) {
          if (!detail.isOpen || detail.paper.id !== p.id) list.open(list.cursor >= 0 ? list.cursor : 0);
          // Focus now if the pane is drawn, so the keys typed next go to the tag field and
          // not to the list's shortcuts.
          if (detail.isOpen && detail._tags) detail.focusTags();
          else waitFor(() => detail.isOpen && detail._tags).then(() => detail.focusTags());
        }
      }
      break;
    case "e": e.preventDefault(); openExport(); break;
    case "s": { const p = currentPaper(); if (p) { e.preventDefault(); toggleStar(p); } break; }
    case "r": {
      const p = currentPaper();
      if (p) {
        e.preventDefault();
        api.patchPaper(p.id, { read: !p.read }).then((u) => { list.updatePaper(u); detail.refreshFrom(u); refreshSidebar(); }).catch(errorToast);
      }
      break;
    }
    case "Delete": case "#": {
      e.preventDefault();
      if (list.selected.size) bulkAction(state.trash ? "restore" : "delete");
      else { const p = currentPaper(); if (p && !state.trash) deleteOne(p); }
      break;
    }
    default: break;
  }
}

function waitFor(cond, tries = 50) {
  return new Promise((resolve) => {
    const tick = (n) => { if (cond() || n <= 0) resolve(); else setTimeout(() => tick(n - 1), 20); };
    tick(tries);
  });
}

// ---------------------------------------------------------------- theme ----
const THEMES = ["auto", "light", "dark"];
function applyTheme(t) {
  if (t === "auto") document.documentElement.removeAttribute("data-theme");
  else document.documentElement.dataset.theme = t;
  clear(els.themeBtn);
  els.themeBtn.appendChild(icon(t === "auto" ? "auto" : t === "light" ? "sun" : "moon"));
  const label = t === "auto" ? "Theme: follows the system" : `Theme: ${t}`;
  els.themeBtn.title = `${label} (click to change)`;
  els.themeBtn.setAttribute("aria-label", label);
  els.themeBtn.dataset.theme = t;
}
function initTheme() {
  let t = "auto";
  try { t = localStorage.getItem("papershelf.theme") || "auto"; } catch { /* storage off */ }
  if (!THEMES.includes(t)) t = "auto";
  applyTheme(t);
  els.themeBtn.addEventListener("click", () => {
    const next = THEMES[(THEMES.indexOf(els.themeBtn.dataset.theme) + 1) % THEMES.length];
    try { localStorage.setItem("papershelf.theme", next); } catch { /* storage off */ }
    applyTheme(next);
  });
}

// ---------------------------------------------------------------- counts ----
// Asking for the duplicate pairs makes the backend gather every flagged pair, which holds
// up its other requests (over a second at 50,000 papers), so the count waits until the
// list is idle and the search box has been quiet for a second since the first rows.
const QUIET_MS = 1000;
let lastTyped = 0;
function whenQuiet(fn) {
  const check = () => {
    const wait = lastTyped + QUIET_MS - performance.now();
    if (wait > 0) setTimeout(check, wait);
    else if (list.loading()) setTimeout(check, 100);
    else fn();
  };
  check();
}

async function refreshDupCount() {
  try {
    if (state.view === "duplicates") {
      const data = await api.duplicates();
      setBadge(els.dupBadge, (data.pairs || []).length);
      dups.pairs = data.pairs || [];
      dups.render();
    } else {
      // The badge needs the number only (the pairs of a large library are megabytes).
      const { count } = await api.duplicateCount();
      setBadge(els.dupBadge, count);
      delete els.viewDup.dataset.loaded;
    }
  } catch { /* ignore */ }
}
function setBadge(el, n) {
  el.hidden = !n;
  el.textContent = n ? String(n) : "";
}

// ---------------------------------------------------------------- search ----
// Search as you type: the text goes to the backend at once; what is typed while a list
// request is on its way goes in one request when it is answered (the newest text wins,
// and an answer the user has already typed past is not shown).
let searchWaiting = false;
function applySearch() {
  searchWaiting = false;
  const q = els.search.value.trim();
  if (q !== state.q) setState({ q }, true);
}
const search = {
  input() {
    lastTyped = performance.now();
    focusListOnRows = false;
    if (list.loading()) searchWaiting = true;
    else applySearch();
  },
  /** Send what is typed now (Enter, ↓, the box's clear button). */
  flush() { if (searchWaiting) applySearch(); },
  idle() { if (searchWaiting) applySearch(); },
  /** Text typed since the query in flight: its answer is out of date before it is shown. */
  superseded() { return searchWaiting && els.search.value.trim() !== state.q; },
};

// Enter or ↓ in the search box moves to the list. While the list is hidden (the answer
// shown found nothing) and a newer query is on its way, the move waits for that answer.
let focusListOnRows = false;
function focusList() {
  focusListOnRows = els.viewport.hidden && list.loading();
  if (focusListOnRows) return;
  els.viewport.focus();
  if (list.cursor < 0) list.setCursor(0);
}
function focusListIfWaiting() {
  if (!focusListOnRows) return;
  focusListOnRows = false;
  if (document.activeElement === els.search && !els.viewport.hidden) focusList();
}

// ---------------------------------------------------------------- boot ----
function init() {
  buildLayout();
  initTheme();

  list = new PaperList(els.viewport, {
    onOpen: (paper) => { detail.show(paper); },
    onSelection: (sel) => renderBulk(sel),
    onTotal: (total) => { renderCount(total); renderBulk(list.selected); focusListIfWaiting(); },
    onToggleStar: (paper) => toggleStar(paper),
    onError: (e) => errorToast(e),
    onIdle: () => search.idle(),
    superseded: () => search.superseded(),
  });
  detail = new DetailPane(els.detail, {
    onUpdated: (paper, { tagsChanged }) => { list.updatePaper(paper); if (tagsChanged) refreshSidebar(); else refreshSidebar(); },
    onDelete: (paper) => deleteOne(paper),
    onClose: () => list.setOpenId(null),
  });
  dups = new DuplicatesView(els.viewDup, { onChanged: () => dataChanged(), onCount: (n) => setBadge(els.dupBadge, n) });
  tagsView = new TagsView(els.viewTags, {
    onChanged: () => dataChanged(),
    onOpenTag: (name) => { location.hash = hashFor("library", { ...DEFAULTS, tag: name }); },
  });
  pairing = new PairingView(els.viewPair, { onCount: (n) => setBadge(els.pairBadge, n) });

  els.search.addEventListener("input", () => search.input());
  els.search.addEventListener("search", () => search.flush());
  els.readSel.addEventListener("change", () => setState({ read: els.readSel.value, trash: false }));
  els.starBtn.addEventListener("click", () => setState({ starred: !state.starred, trash: false }));
  els.sortSel.addEventListener("change", () => setState({ sort: els.sortSel.value, order: "" }));
  els.orderBtn.addEventListener("click", () => setState({ order: effectiveOrder() === "asc" ? "desc" : "asc", sort: effectiveSort() }));
  els.exportBtn.addEventListener("click", () => openExport());
  els.importBtn.addEventListener("click", () => els.importInput.click());
  els.importInput.addEventListener("change", () => {
    const file = els.importInput.files && els.importInput.files[0];
    els.importInput.value = "";
    if (file) importFile(file);
  });
  els.helpBtn.addEventListener("click", () => showHelp());
  els.tagFilter.addEventListener("input", renderTags);
  els.headCheck.addEventListener("change", () => { if (els.headCheck.checked) selectAll(); else list.clearSelection(); });

  onConnectivity((ok) => { els.offline.hidden = ok; });
  document.addEventListener("keydown", onKey);
  window.addEventListener("hashchange", () => { readHash(); applyState(); });

  list.offer(firstPage);
  readHash();
  // (an address that names no view already means the library: left as it is)
  if (location.hash.replace(/^#\/?/, "")) writeHash(true);
  applyState();
  // The sidebar, the badges and the pairing poll ask the backend once the first rows are
  // shown: they do not hold up the list's first request.
  list.ready.then(() => {
    // the counts wait for the locale's number data, loaded once the rows are painted
    requestAnimationFrame(() => setTimeout(() => {
      loadNumberFormat();
      if (list.loadedOnce) renderCount(list.total);
    }, 0));
    lastTyped = Math.max(lastTyped, performance.now());
    loadSidebar();
    pairing.poll();
    // (once the Duplicates view has been opened, it keeps the badge itself)
    whenQuiet(() => { if (!els.viewDup.dataset.loaded) refreshDupCount(); });
  });
  // A pairing request is made in the extension, then the user turns to this page: ask at
  // once when it is shown or focused again, not at the next tick of the poll.
  setInterval(() => { if (!document.hidden) pairing.poll(); }, PAIRING_POLL_MS);
  document.addEventListener("visibilitychange", () => { if (!document.hidden) pairing.poll(); });
  window.addEventListener("focus", () => pairing.poll());
  document.body.dataset.ready = "true";
}

init();
