// Tag management: rename, merge into another tag, delete (undoable).
import { api } from "./api.js";
import { h, clear, icon } from "./dom.js";
import { toast, errorToast, promptDialog, confirmDialog } from "./ui.js";
import { attachTagAutocomplete } from "./tagedit.js";

export class TagsView {
  /** hooks: {onChanged(), onOpenTag(name)} */
  constructor(root, hooks) {
    this.root = root;
    this.hooks = hooks;
    this.tags = [];
    this.filter = "";
  }

  async load() {
    try {
      const data = await api.tags(undefined, 5000);
      this.tags = data.tags || [];
      this.render();
    } catch (e) { errorToast(e); }
  }

  render() {
    const root = this.root;
    clear(root);
    const filter = h("input", { type: "search", class: "input", placeholder: "Filter tags", "aria-label": "Filter tags", value: this.filter, id: "tags-filter" });
    const body = h("tbody");
    const fill = () => {
      clear(body);
      const f = this.filter.toLowerCase();
      const shown = this.tags.filter((t) => t.name.toLowerCase().includes(f));
      for (const t of shown) body.appendChild(this._row(t));
      if (!shown.length) body.appendChild(h("tr", {}, h("td", { colspan: "3", class: "muted" }, this.tags.length ? "No tag matches." : "No tags yet. Add tags to papers from the detail pane or with a bulk action.")));
    };
    filter.addEventListener("input", () => { this.filter = filter.value; fill(); });
    root.append(
      h("div", { class: "view-head" }, h("h1", {}, "Tags"),
        h("p", { class: "muted" }, `${this.tags.length} tag${this.tags.length === 1 ? "" : "s"}. Renaming a tag to an existing name merges the two.`)),
      h("div", { class: "tags-tools" }, filter),
      h("table", { class: "table tags-table" },
        h("thead", {}, h("tr", {}, h("th", {}, "Tag"), h("th", { class: "num" }, "Papers"), h("th", {}, ""))),
        body));
    fill();
  }

  _row(t) {
    const open = h("button", { type: "button", class: "linklike tag-open" }, h("span", { class: "chip" }, t.name));
    open.addEventListener("click", () => this.hooks.onOpenTag && this.hooks.onOpenTag(t.name));
    const rename = h("button", { type: "button", class: "btn small tag-rename" }, "Rename");
    const merge = h("button", { type: "button", class: "btn small tag-merge" }, "Merge into…");
    const del = h("button", { type: "button", class: "btn small ghost danger tag-delete", "aria-label": `Delete tag ${t.name}` }, icon("trash"), "Delete");
    rename.addEventListener("click", () => this.rename(t.name));
    merge.addEventListener("click", () => this.mergeInto(t.name));
    del.addEventListener("click", () => this.remove(t.name, t.count));
    return h("tr", { dataset: { tag: t.name } },
      h("td", {}, open),
      h("td", { class: "num" }, String(t.count)),
      h("td", { class: "actions" }, rename, merge, del));
  }

  async rename(name) {
    const to = await promptDialog(`Rename tag`, `New name for “${name}”`, { value: name, ok: "Rename" });
    if (!to || to === name) return;
    await this._rename(name, to, `Renamed “${name}” to “${to}”`);
  }

  async mergeInto(name) {
    const to = await promptDialog(`Merge tag`, `Merge “${name}” into`, {
      ok: "Merge", placeholder: "Existing tag",
      extra: (input, form) => attachTagAutocomplete(input, {
        exclude: () => [name],
        submitOnEnter: false,
        onPick: (picked) => { input.value = picked; form.requestSubmit(); },
      }),
    });
    if (!to || to === name) return;
    await this._rename(name, to, `Merged “${name}” into “${to}”`);
  }

  async _rename(from, to, msg) {
    try {
      const res = await api.renameTag(from, to);
      this.hooks.onChanged && this.hooks.onChanged();
      await this.load();
      toast(`${msg} (${res.papers} paper${res.papers === 1 ? "" : "s"})`, res.undo ? {
        action: { label: "Undo", run: async () => { await api.undo(res.undo); this.hooks.onChanged && this.hooks.onChanged(); await this.load(); } },
      } : {});
    } catch (e) { errorToast(e); }
  }

  async remove(name, count) {
    const ok = await confirmDialog("Delete tag", `Remove the tag “${name}” from ${count} paper${count === 1 ? "" : "s"}? The papers stay.`, { ok: "Delete tag", danger: true });
    if (!ok) return;
    try {
      const res = await api.deleteTag(name);
      this.hooks.onChanged && this.hooks.onChanged();
      await this.load();
      toast(`Deleted tag “${name}”`, res.undo ? {
        action: { label: "Undo", run: async () => { await api.undo(res.undo); this.hooks.onChanged && this.hooks.onChanged(); await this.load(); } },
      } : {});
    } catch (e) { errorToast(e); }
  }
}
