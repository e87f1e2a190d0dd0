// Duplicates view: candidate pairs side by side, differences highlighted, merge with a
// per-field choice (undoable) or "not duplicates".
import { api } from "./api.js";
import { h, clear, shortDate, safeUrl, arxivAbs } from "./dom.js";
import { toast, errorToast } from "./ui.js";

// Fields offered for a per-field choice when the two records differ.
const FIELDS = [
  { key: "title", label: "Title", words: true },
  { key: "authors", label: "Authors", fmt: (v) => (Array.isArray(v) ? v.join(", ") : ""), words: true },
  { key: "published", label: "Published", fmt: (v) => shortDate(v) },
  { key: "arxiv_id", label: "arXiv id" },
  { key: "abstract", label: "Abstract", words: true, long: true },
  { key: "github_repo", label: "GitHub" },
  { key: "upvotes", label: "Upvotes", fmt: (v) => (v == null ? "" : String(v)) },
];
// Shown for context; the backend combines these (tags are united, sightings kept).
const INFO = [
  { key: "tags", label: "Tags", note: "combined", fmt: (v) => (Array.isArray(v) ? v.join(", ") : "") },
  { key: "notes", label: "Notes", note: "combined" },
  { key: "added_at", label: "Added", note: "earliest kept", fmt: (v) => shortDate(v) },
];

const fmtOf = (f) => f.fmt || ((v) => (v == null ? "" : String(v)));
const norm = (s) => String(s).replace(/\s+/g, " ").trim();

/** Render `text` with the words missing from `other` wrapped in <mark> (text nodes only). */
function diffWords(text, other) {
  const frag = document.createDocumentFragment();
  const otherWords = new Set(String(other).toLowerCase().split(/\s+/).filter(Boolean));
  const parts = String(text).split(/(\s+)/);
  let buf = "";
  for (const part of parts) {
    if (!part) continue;
    if (/^\s+$/.test(part) || otherWords.has(part.toLowerCase())) { buf += part; continue; }
    if (buf) { frag.appendChild(document.createTextNode(buf)); buf = ""; }
    frag.appendChild(h("mark", { class: "diff-word" }, part));
  }
  if (buf) frag.appendChild(document.createTextNode(buf));
  return frag;
}

export class DuplicatesView {
  /** hooks: {onChanged(), onCount(n)} */
  constructor(root, hooks) {
    this.root = root;
    this.hooks = hooks;
    this.pairs = [];
    this.loading = false;
  }

  async load() {
    this.loading = true;
    try {
      const data = await api.duplicates();
      this.pairs = data.pairs || [];
      this.hooks.onCount && this.hooks.onCount(this.pairs.length);
      this.render();
    } catch (e) {
      errorToast(e);
    } finally {
      this.loading = false;
    }
  }

  render() {
    const root = this.root;
    clear(root);
    root.appendChild(h("div", { class: "view-head" },
      h("h1", {}, "Duplicates"),
      h("p", { class: "muted" }, this.pairs.length
        ? `${this.pairs.length} possible duplicate pair${this.pairs.length === 1 ? "" : "s"}. Pick the record to keep and, where they differ, which value of each field; or mark them as not duplicates.`
        : "")));
    if (!this.pairs.length) {
      root.appendChild(h("div", { class: "empty-state small", id: "dups-empty" },
        h("h2", {}, "No duplicates to review"),
        h("p", { class: "muted" }, "When a saved paper looks like one already on your shelf (same title with small differences, a preprint and its published version), the pair shows up here.")));
      return;
    }
    const list = h("div", { class: "dup-list" });
    this.pairs.forEach((pair, i) => list.appendChild(this._pairCard(pair, i)));
    root.appendChild(list);
  }

  _pairCard(pair, i) {
    const { a, b } = pair;
    const name = `dup${i}`;
    let keep = "a";
    const choice = {}; // field -> "a" | "b"
    const card = h("article", { class: "dup-card", dataset: { a: a.id, b: b.id } });
    const keepA = h("input", { type: "radio", name: `${name}-keep`, value: "a", checked: true, "aria-label": "Keep left record" });
    const keepB = h("input", { type: "radio", name: `${name}-keep`, value: "b", "aria-label": "Keep right record" });

    const table = h("div", { class: "dup-grid" });
    const head = h("div", { class: "dup-row dup-headrow" },
      h("div", { class: "dup-label" }, ""),
      h("label", { class: "dup-side keep-choice side-a" }, keepA, h("span", {}, `Keep #${a.id}`)),
      h("label", { class: "dup-side keep-choice side-b" }, keepB, h("span", {}, `Keep #${b.id}`)));
    table.appendChild(head);

    const fieldRows = [];
    for (const f of FIELDS) {
      const fmt = fmtOf(f);
      const va = fmt(a[f.key]), vb = fmt(b[f.key]);
      if (!va && !vb) continue;
      const differs = norm(va) !== norm(vb);
      const row = h("div", { class: `dup-row ${differs ? "differs" : "same"} ${f.long ? "long" : ""}`, dataset: { field: f.key } });
      row.appendChild(h("div", { class: "dup-label" }, f.label, differs ? h("span", { class: "diff-flag", title: "The records differ" }, "differs") : null));
      for (const side of ["a", "b"]) {
        const v = side === "a" ? va : vb;
        const ov = side === "a" ? vb : va;
        const cell = h("div", { class: `dup-side side-${side}` });
        let content;
        if (!v) content = h("span", { class: "muted" }, "—");
        else if (differs && f.words) content = h("span", { class: "dup-val" }, diffWords(v, ov));
        else if (differs) content = h("mark", { class: "dup-val diff-word" }, v);
        else content = h("span", { class: "dup-val" }, v);
        if (f.key === "arxiv_id" && v && safeUrl(arxivAbs(v))) {
          content = h("a", { href: arxivAbs(v), target: "_blank", rel: "noopener noreferrer" }, content);
        }
        if (differs) {
          choice[f.key] = "a";
          const radio = h("input", { type: "radio", name: `${name}-${f.key}`, value: side, checked: side === "a", disabled: !v && side !== keep,
            "aria-label": `Use ${side === "a" ? "left" : "right"} ${f.label.toLowerCase()}` });
          radio.addEventListener("change", () => { choice[f.key] = side; mark(); });
          cell.appendChild(h("label", { class: "pick" }, radio, content));
        } else {
          cell.appendChild(content);
        }
        row.appendChild(cell);
      }
      fieldRows.push({ f, row, differs });
      table.appendChild(row);
    }
    for (const f of INFO) {
      const fmt = fmtOf(f);
      const va = fmt(a[f.key]), vb = fmt(b[f.key]);
      if (!va && !vb) continue;
      const differs = norm(va) !== norm(vb);
      table.appendChild(h("div", { class: `dup-row info ${differs ? "differs" : "same"}`, dataset: { field: f.key } },
        h("div", { class: "dup-label" }, f.label, f.note ? h("span", { class: "dup-note" }, f.note) : null),
        h("div", { class: "dup-side side-a" }, va || "—"),
        h("div", { class: "dup-side side-b" }, vb || "—")));
    }

    // Visual state: the chosen value of each differing field, and the kept record.
    const mark = () => {
      card.classList.toggle("keep-a", keep === "a");
      card.classList.toggle("keep-b", keep === "b");
      for (const { f, row, differs } of fieldRows) {
        if (!differs) continue;
        row.querySelector(".side-a").classList.toggle("chosen", choice[f.key] === "a");
        row.querySelector(".side-b").classList.toggle("chosen", choice[f.key] === "b");
      }
    };
    const onKeep = (side) => {
      keep = side;
      // Default every differing field to the kept record's value (if it has one).
      for (const { f, row, differs } of fieldRows) {
        if (!differs) continue;
        const rec = side === "a" ? a : b;
        const has = !!fmtOf(f)(rec[f.key]);
        const pick = has ? side : (side === "a" ? "b" : "a");
        choice[f.key] = pick;
        for (const r of row.querySelectorAll("input[type=radio]")) {
          r.checked = r.value === pick;
          r.disabled = false;
        }
      }
      mark();
    };
    keepA.addEventListener("change", () => onKeep("a"));
    keepB.addEventListener("change", () => onKeep("b"));

    const mergeBtn = h("button", { type: "button", class: "btn primary dup-merge" }, "Merge");
    const dismissBtn = h("button", { type: "button", class: "btn dup-dismiss" }, "Not duplicates");
    mergeBtn.addEventListener("click", async () => {
      const keepRec = keep === "a" ? a : b;
      const otherRec = keep === "a" ? b : a;
      const fields = {};
      for (const { f, differs } of fieldRows) if (differs) fields[f.key] = choice[f.key] === keep ? "keep" : "other";
      mergeBtn.disabled = dismissBtn.disabled = true;
      try {
        const res = await api.merge(keepRec.id, otherRec.id, fields);
        this._removePairsWith([keepRec.id, otherRec.id], card);
        this.hooks.onChanged && this.hooks.onChanged();
        toast(`Merged #${otherRec.id} into #${keepRec.id}`, res && res.undo ? {
          action: { label: "Undo", run: async () => { await api.undo(res.undo); this.hooks.onChanged && this.hooks.onChanged(); await this.load(); toast("Merge undone"); } },
        } : {});
      } catch (e) {
        mergeBtn.disabled = dismissBtn.disabled = false;
        errorToast(e);
      }
    });
    dismissBtn.addEventListener("click", async () => {
      mergeBtn.disabled = dismissBtn.disabled = true;
      try {
        await api.dismiss(a.id, b.id);
        this.pairs = this.pairs.filter((p) => p !== pair);
        card.remove();
        this.hooks.onCount && this.hooks.onCount(this.pairs.length);
        if (!this.pairs.length) this.render();
        toast("Marked as not duplicates");
      } catch (e) {
        mergeBtn.disabled = dismissBtn.disabled = false;
        errorToast(e);
      }
    });

    const score = typeof pair.score === "number" ? `${Math.round(pair.score)}% similar` : "Possible duplicate";
    card.append(
      h("header", { class: "dup-head" },
        h("span", { class: "dup-score" }, score),
        h("span", { class: "dup-reasons" }, (pair.reasons || []).map((r) => h("span", { class: "badge" }, r))),
        h("span", { class: "spacer" }),
        dismissBtn, mergeBtn),
      table);
    mark();
    return card;
  }

  _removePairsWith(ids, card) {
    const set = new Set(ids);
    const gone = this.pairs.filter((p) => set.has(p.a.id) || set.has(p.b.id));
    this.pairs = this.pairs.filter((p) => !gone.includes(p));
    if (card) card.remove();
    for (const el of this.root.querySelectorAll(".dup-card")) {
      if (set.has(Number(el.dataset.a)) || set.has(Number(el.dataset.b))) el.remove();
    }
    this.hooks.onCount && this.hooks.onCount(this.pairs.length);
    if (!this.pairs.length) this.render();
  }
}
