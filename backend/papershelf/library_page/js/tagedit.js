// Tag input with autocomplete from GET /api/tags?prefix=…
import { api } from "./api.js";
import { h, clear, debounce } from "./dom.js";

/**
 * Attach an autocomplete dropdown to a text input. `onPick(name)` is called when a
 * suggestion is chosen or Enter is pressed with text; `exclude()` lists tags to hide.
 * Returns {close()}.
 */
export function attachTagAutocomplete(input, { onPick, exclude = () => [], submitOnEnter = true } = {}) {
  const list = h("ul", { class: "ac-list", role: "listbox", hidden: true });
  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-expanded", "false");
  input.insertAdjacentElement("afterend", list);
  let items = [];
  let active = -1;
  let seq = 0;

  const show = (tags) => {
    // a later answer keeps the suggestion chosen with the arrow keys, if it still lists it
    const chosen = items[active] ? items[active].name : null;
    items = tags;
    active = chosen === null ? -1 : tags.findIndex((t) => t.name === chosen);
    clear(list);
    tags.forEach((t, i) => {
      const li = h("li", { class: "ac-item", role: "option", dataset: { index: i } },
        h("span", { class: "ac-name" }, t.name), h("span", { class: "ac-count" }, String(t.count)));
      li.addEventListener("mousedown", (e) => { e.preventDefault(); pick(i); });
      list.appendChild(li);
    });
    highlight();
    list.hidden = tags.length === 0;
    input.setAttribute("aria-expanded", tags.length ? "true" : "false");
  };
  const close = () => {
    seq++; // answers still on their way must not reopen the list
    if (fetchSuggestions) fetchSuggestions.cancel();
    list.hidden = true; items = []; active = -1; input.setAttribute("aria-expanded", "false");
  };
  const highlight = () => {
    [...list.children].forEach((li, i) => li.classList.toggle("active", i === active));
  };
  const pick = (i) => {
    const t = items[i];
    if (!t) return;
    input.value = "";
    close();
    onPick && onPick(t.name);
  };
  let fetchSuggestions = null;
  fetchSuggestions = debounce(async () => {
    const prefix = input.value.trim();
    const my = ++seq;
    try {
      const data = await api.tags(prefix, 12);
      if (my !== seq || document.activeElement !== input) return;
      const ex = new Set(exclude().map((x) => x.toLowerCase()));
      show((data.tags || []).filter((t) => !ex.has(t.name.toLowerCase())).slice(0, 8));
    } catch { close(); }
  }, 120);

  // What is typed narrows the suggestions shown at once; the backend's answer follows.
  const narrow = () => {
    const prefix = input.value.trim().toLowerCase();
    if (items.length) show(items.filter((t) => t.name.toLowerCase().startsWith(prefix)));
  };
  input.addEventListener("input", () => { narrow(); fetchSuggestions(); });
  input.addEventListener("focus", fetchSuggestions);
  input.addEventListener("blur", () => setTimeout(close, 100));
  input.addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown" && items.length) { e.preventDefault(); active = (active + 1) % items.length; highlight(); }
    else if (e.key === "ArrowUp" && items.length) { e.preventDefault(); active = (active - 1 + items.length) % items.length; highlight(); }
    else if ((e.key === "Enter" || e.key === "Tab") && active >= 0) { e.preventDefault(); pick(active); }
    else if (e.key === "Enter" && submitOnEnter) {
      const v = input.value.trim().replace(/,$/, "");
      if (v) { e.preventDefault(); input.value = ""; close(); onPick && onPick(v); }
    } else if (e.key === "," && submitOnEnter) {
      const v = input.value.trim();
      if (v) { e.preventDefault(); input.value = ""; close(); onPick && onPick(v); }
    } else if (e.key === "Escape" && !list.hidden) { e.preventDefault(); e.stopPropagation(); close(); }
  });
  return { close };
}

/**
 * A tag editor: chips with remove buttons and an input with autocomplete.
 * `onChange({add, remove})` is awaited; it should return the new tag list.
 */
export function tagEditor(tags, onChange) {
  let current = [...tags];
  const chips = h("div", { class: "tag-chips" });
  const input = h("input", { type: "text", class: "tag-input", placeholder: "Add tag…", "aria-label": "Add tag", autocomplete: "off", spellcheck: "false" });
  const wrap = h("div", { class: "tag-editor" }, chips, h("div", { class: "ac-wrap" }, input));

  const render = () => {
    clear(chips);
    for (const t of current) {
      chips.appendChild(h("span", { class: "chip", dataset: { tag: t } },
        h("span", { class: "chip-label" }, t),
        h("button", { type: "button", class: "chip-x", "aria-label": `Remove tag ${t}`, title: "Remove", onclick: () => change({ remove: [t] }) }, "×")));
    }
  };
  const change = async (delta) => {
    const next = await onChange({ add: delta.add || [], remove: delta.remove || [] });
    if (Array.isArray(next)) { current = next; render(); }
  };
  attachTagAutocomplete(input, {
    onPick: (name) => { if (!current.some((t) => t.toLowerCase() === name.toLowerCase())) change({ add: [name] }); },
    exclude: () => current,
  });
  input.addEventListener("keydown", (e) => {
    if (e.key === "Backspace" && !input.value && current.length) change({ remove: [current[current.length - 1]] });
  });
  render();
  wrap.focusInput = () => input.focus();
  wrap.input = input;
  return wrap;
}
