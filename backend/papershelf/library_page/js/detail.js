// The detail pane: abstract, authors, links, sightings, tags, notes, read, star.
import { api } from "./api.js";
import { h, icon, clear, debounce, shortDate, relTime, safeUrl, arxivAbs, arxivPdf, githubUrl } from "./dom.js";
import { tagEditor } from "./tagedit.js";
import { errorToast } from "./ui.js";

export class DetailPane {
  /** hooks: {onUpdated(paper, {tagsChanged}), onDelete(paper), onClose()} */
  constructor(root, hooks) {
    this.root = root;
    this.hooks = hooks;
    this.paper = null;
    this.seq = 0;
    this._edits = 0; // answers to this pane's own changes taken in (see show)
    this._saveNotes = null;
  }

  get isOpen() { return !this.root.hidden && !!this.paper; }

  async show(paperOrId) {
    // Only wait when notes are being saved: otherwise the pane is drawn from the row's data
    // in this same task, so a shortcut's next key ("t", then the tag) finds it there.
    if ((this._saveNotes && this._saveNotes.pending()) || this._savingPromise) await this.flush();
    const id = typeof paperOrId === "object" ? paperOrId.id : paperOrId;
    const my = ++this.seq;
    if (typeof paperOrId === "object") this._render(paperOrId, true);
    this.root.hidden = false;
    document.body.classList.add("detail-open");
    try {
      // An answer to a change made meanwhile (a tag added right away) may arrive before
      // this one, which then holds the paper as it was: ask again rather than undo it.
      let fresh, edits;
      do {
        edits = this._edits;
        fresh = await api.getPaper(id);
        if (my !== this.seq) return;
      } while (edits !== this._edits);
      this._render(fresh, false);
    } catch (e) {
      if (my === this.seq) errorToast(e);
    }
  }

  async close() {
    await this.flush();
    this.seq++;
    this.paper = null;
    this.root.hidden = true;
    document.body.classList.remove("detail-open");
    clear(this.root);
    this.hooks.onClose && this.hooks.onClose();
  }

  /** Save pending notes now (before switching papers or closing). */
  async flush() {
    if (this._saveNotes && this._saveNotes.pending()) {
      this._saveNotes.flush();
      if (this._savingPromise) await this._savingPromise.catch(() => {});
    } else if (this._savingPromise) {
      await this._savingPromise.catch(() => {});
    }
  }

  focusTags() {
    if (this._tags) this._tags.focusInput();
  }

  refreshFrom(paper) {
    if (this.paper && paper && paper.id === this.paper.id) { this._edits++; this._render(paper, false); }
  }

  _render(p, preliminary) {
    if (this._saveNotes && this._saveNotes.pending()) this._saveNotes.flush();
    const sameNotes = this.paper && this.paper.id === p.id && this._notes;
    const focusNotes = sameNotes && document.activeElement === this._notes;
    const notesDraft = sameNotes ? this._notes.value : null;
    // A refresh must not eat what the user is typing into the tag input.
    const tagInput = sameNotes && this._tags ? this._tags.input : null;
    const focusTags = !!tagInput && document.activeElement === tagInput;
    const tagDraft = tagInput ? tagInput.value : "";
    this.paper = p;
    const root = this.root;
    clear(root);
    root.dataset.id = String(p.id);
    root.dataset.loading = preliminary ? "true" : "false";

    const starBtn = h("button", { type: "button", class: `btn toggle ${p.starred ? "on" : ""}`, "aria-pressed": p.starred ? "true" : "false", id: "detail-star", title: "Star (s)" },
      icon("star"), p.starred ? "Starred" : "Star");
    starBtn.addEventListener("click", () => this._patch({ starred: !this.paper.starred }));
    const readBtn = h("button", { type: "button", class: `btn toggle ${p.read ? "on" : ""}`, "aria-pressed": p.read ? "true" : "false", id: "detail-read", title: "Read (r)" },
      icon("check"), p.read ? "Read" : "Mark read");
    readBtn.addEventListener("click", () => this._patch({ read: !this.paper.read }));
    const delBtn = h("button", { type: "button", class: "btn ghost danger", id: "detail-delete", title: "Move to trash" }, icon("trash"), "Delete");
    delBtn.addEventListener("click", () => this.hooks.onDelete && this.hooks.onDelete(this.paper));
    const closeBtn = h("button", { type: "button", class: "icon-btn", id: "detail-close", "aria-label": "Close details", title: "Close (Esc)" }, icon("close"));
    closeBtn.addEventListener("click", () => this.close());

    const links = [];
    const link = (label, url, cls) => {
      const u = safeUrl(url);
      if (u) links.push(h("a", { href: u, target: "_blank", rel: "noopener noreferrer", class: `link-btn ${cls}` }, icon("link"), label));
    };
    link("Hugging Face", p.hf_url || (p.arxiv_id ? `https://huggingface.co/papers/${p.arxiv_id}` : null), "l-hf");
    link("arXiv", arxivAbs(p.arxiv_id), "l-arxiv");
    link("PDF", arxivPdf(p.arxiv_id), "l-pdf");
    link(p.github_stars != null ? `GitHub ★${Number(p.github_stars).toLocaleString()}` : "GitHub", githubUrl(p.github_repo), "l-github");

    const authors = Array.isArray(p.authors) ? p.authors : [];
    const authorsEl = h("p", { class: "d-authors" });
    const AUTH_MAX = 12;
    const fillAuthors = (all) => {
      clear(authorsEl);
      const shown = all ? authors : authors.slice(0, AUTH_MAX);
      authorsEl.appendChild(document.createTextNode(shown.join(", ") || (p.authors_count ? `${p.authors_count} authors` : "Unknown authors")));
      if (!all && authors.length > AUTH_MAX) {
        authorsEl.appendChild(document.createTextNode(" "));
        authorsEl.appendChild(h("button", { type: "button", class: "linklike", onclick: () => fillAuthors(true) }, `+${authors.length - AUTH_MAX} more`));
      }
    };
    fillAuthors(false);

    const meta = [];
    if (p.published) meta.push(h("span", { title: "Published" }, shortDate(p.published)));
    if (p.org_fullname || p.org_name) meta.push(h("span", {}, p.org_fullname || p.org_name));
    if (p.upvotes != null) meta.push(h("span", { title: "Upvotes" }, `▲ ${p.upvotes}`));
    if (p.comments) meta.push(h("span", { title: "Comments" }, `${p.comments} comment${p.comments === 1 ? "" : "s"}`));
    if (p.arxiv_id) meta.push(h("span", { class: "mono" }, `arXiv:${p.arxiv_id}`));

    const editor = tagEditor(p.tags || [], async ({ add, remove }) => {
      try {
        const updated = await api.editTags(p.id, add, remove);
        this._edits++;
        this.hooks.onUpdated && this.hooks.onUpdated(updated, { tagsChanged: true });
        if (!this.paper || this.paper.id !== p.id) return null; // another paper is shown now
        if (this._tags !== editor) {
          // The pane was drawn again while this change was on its way (the paper's full
          // answer came in): that drawing holds the tags from before, so draw this one.
          this._render(updated, false);
          return null;
        }
        this.paper = updated;
        return updated.tags;
      } catch (e) { errorToast(e); return null; }
    });
    this._tags = editor;
    this._tags.id = "detail-tags";

    const notes = h("textarea", { class: "notes", id: "detail-notes", rows: "5", placeholder: "Notes (saved automatically)", "aria-label": "Notes", spellcheck: "true" });
    notes.value = notesDraft !== null ? notesDraft : (p.notes || "");
    const status = h("span", { class: "save-status", id: "notes-status", "aria-live": "polite" }, "");
    this._notes = notes;
    const paperId = p.id;
    const save = async () => {
      const value = notes.value;
      if (this.paper && this.paper.id === paperId && value === (this.paper.notes || "")) { status.textContent = "Saved"; return; }
      status.textContent = "Saving…";
      const promise = api.patchPaper(paperId, { notes: value });
      this._savingPromise = promise;
      try {
        const updated = await promise;
        this._edits++;
        if (this.paper && this.paper.id === paperId) {
          this.paper = { ...updated, notes: updated.notes };
          status.textContent = notes.value === value ? "Saved" : "Saving…";
          status.dataset.state = notes.value === value ? "saved" : "saving";
        }
        this.hooks.onUpdated && this.hooks.onUpdated(updated, { tagsChanged: false });
      } catch (e) {
        status.textContent = "Not saved";
        status.dataset.state = "error";
        errorToast(e);
      } finally {
        if (this._savingPromise === promise) this._savingPromise = null;
      }
    };
    this._saveNotes = debounce(save, 600);
    notes.addEventListener("input", () => { status.textContent = "Editing…"; status.dataset.state = "dirty"; this._saveNotes(); });
    notes.addEventListener("blur", () => this._saveNotes.flush());

    const sightings = Array.isArray(p.sightings) ? p.sightings : [];
    const sightList = h("ol", { class: "sightings" },
      sightings.slice().reverse().map((s) => h("li", {},
        h("span", { class: "s-when", title: s.seen_at || "" }, relTime(s.seen_at)),
        h("span", { class: "s-view badge" }, s.view || "other"),
        s.upvotes != null ? h("span", { class: "s-up" }, `▲ ${s.upvotes}`) : null,
        safeUrl(s.url) ? h("a", { href: safeUrl(s.url), target: "_blank", rel: "noopener noreferrer", class: "s-url" }, prettyUrl(s.url)) : h("span", { class: "s-url" }, s.url || ""))));

    root.append(
      h("div", { class: "d-toolbar" }, starBtn, readBtn, h("span", { class: "spacer" }), delBtn, closeBtn),
      h("div", { class: "d-scroll" },
        h("h2", { class: "d-title", id: "detail-title" }, p.title || "(untitled)"),
        authorsEl,
        h("div", { class: "d-meta" }, meta),
        links.length ? h("div", { class: "d-links" }, links) : null,
        h("section", { class: "d-section" }, h("h3", {}, "Tags"), this._tags),
        h("section", { class: "d-section" }, h("h3", {}, "Notes ", status), notes),
        h("section", { class: "d-section" }, h("h3", {}, "Abstract"),
          p.abstract ? h("p", { class: "d-abstract", id: "detail-abstract" }, p.abstract) : h("p", { class: "muted" }, "No abstract saved.")),
        h("section", { class: "d-section" }, h("h3", {}, `Seen ${sightings.length} time${sightings.length === 1 ? "" : "s"}`),
          sightings.length ? sightList : h("p", { class: "muted" }, "No sightings recorded.")),
        h("p", { class: "d-foot muted" }, `Added ${shortDate(p.added_at)} · updated ${relTime(p.updated_at)} · #${p.id}`)));
    if (focusNotes) { notes.focus(); }
    if (tagDraft) this._tags.input.value = tagDraft;
    if (focusTags) this._tags.input.focus();
  }

  async _patch(fields) {
    if (!this.paper) return;
    try {
      const updated = await api.patchPaper(this.paper.id, fields);
      this._edits++;
      this._render(updated, false);
      this.hooks.onUpdated && this.hooks.onUpdated(updated, { tagsChanged: false });
    } catch (e) { errorToast(e); }
  }

  toggleStar() { if (this.paper) return this._patch({ starred: !this.paper.starred }); }
  toggleRead() { if (this.paper) return this._patch({ read: !this.paper.read }); }
}

function prettyUrl(u) {
  try {
    const x = new URL(u);
    return (x.host + x.pathname + x.search).replace(/\/$/, "");
  } catch { return String(u); }
}
