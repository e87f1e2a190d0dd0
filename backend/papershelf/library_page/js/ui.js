// Toasts (with an Undo action), modal dialogs (confirm / prompt) and popovers.
import { h, icon, $ } from "./dom.js";

// ---- toasts -----------------------------------------------------------------
const TOAST_MS = 9000;

/**
 * toast("Deleted 3 papers", {action: {label: "Undo", run: async () => ...}, kind: "error"})
 * A toast with an action stays while hovered or focused.
 */
export function toast(message, opts = {}) {
  const box = $("#toasts");
  const el = h("div", { class: `toast ${opts.kind || ""}`, role: opts.kind === "error" ? "alert" : "status" },
    h("span", { class: "toast-msg" }, message));
  let timer = null;
  const close = () => { clearTimeout(timer); el.classList.add("leaving"); setTimeout(() => el.remove(), 180); };
  if (opts.action) {
    const btn = h("button", { class: "toast-action", type: "button" }, opts.action.label);
    btn.addEventListener("click", async () => {
      btn.disabled = true;
      try { await opts.action.run(); close(); } catch (e) { btn.disabled = false; toast(e.message || String(e), { kind: "error" }); close(); }
    });
    el.appendChild(btn);
  }
  el.appendChild(h("button", { class: "toast-close icon-btn", type: "button", "aria-label": "Dismiss", onclick: close }, icon("close")));
  const arm = () => { clearTimeout(timer); timer = setTimeout(close, opts.ms || (opts.action ? TOAST_MS * 1.5 : TOAST_MS)); };
  el.addEventListener("mouseenter", () => clearTimeout(timer));
  el.addEventListener("mouseleave", arm);
  el.addEventListener("focusin", () => clearTimeout(timer));
  box.appendChild(el);
  arm();
  return { close, el };
}

export function errorToast(e) {
  const msg = e && e.message ? e.message : String(e);
  return toast(msg, { kind: "error" });
}

// ---- modal dialog -----------------------------------------------------------
let openModal = null;
export function modalOpen() { return !!openModal; }

/** Show a modal; `build(close)` returns the body. Resolves with what close() is given. */
export function modal(title, build, { wide = false, className = "" } = {}) {
  return new Promise((resolve) => {
    const prevFocus = document.activeElement;
    const backdrop = h("div", { class: "modal-backdrop" });
    const close = (value) => {
      backdrop.remove();
      document.removeEventListener("keydown", onKey, true);
      openModal = null;
      if (prevFocus && prevFocus.focus) prevFocus.focus();
      resolve(value);
    };
    const onKey = (e) => {
      if (e.key === "Escape") { e.preventDefault(); e.stopPropagation(); close(undefined); }
    };
    const dialog = h("div", { class: `modal ${wide ? "wide" : ""} ${className}`, role: "dialog", "aria-modal": "true", "aria-label": title },
      h("header", { class: "modal-head" },
        h("h2", {}, title),
        h("button", { class: "icon-btn", type: "button", "aria-label": "Close", onclick: () => close(undefined) }, icon("close"))),
      h("div", { class: "modal-body" }, build(close)));
    backdrop.appendChild(dialog);
    backdrop.addEventListener("mousedown", (e) => { if (e.target === backdrop) close(undefined); });
    document.addEventListener("keydown", onKey, true);
    document.body.appendChild(backdrop);
    openModal = dialog;
    // Focus (and select a text field's value, so typing replaces it) now, in the same
    // task that opened the dialog: a deferred select() would swallow keys already typed.
    const first = dialog.querySelector("[autofocus], input, textarea, select, .modal-body button");
    if (first) {
      first.focus();
      if (first.tagName === "INPUT" && first.type === "text") first.select();
    }
  });
}

export function confirmDialog(title, message, { ok = "OK", danger = false } = {}) {
  return modal(title, (close) => h("div", {},
    h("p", {}, message),
    h("div", { class: "modal-actions" },
      h("button", { type: "button", class: "btn", onclick: () => close(false) }, "Cancel"),
      h("button", { type: "button", class: `btn ${danger ? "danger" : "primary"}`, autofocus: true, onclick: () => close(true) }, ok)))).then((v) => !!v);
}

/** A one-field form. `extra(input)` may add e.g. autocomplete. Resolves to the string or null. */
export function promptDialog(title, label, { value = "", ok = "OK", extra = null, placeholder = "" } = {}) {
  return modal(title, (close) => {
    const input = h("input", { type: "text", class: "input", value, placeholder, autofocus: true, "aria-label": label, autocomplete: "off", spellcheck: "false" });
    const form = h("form", { class: "prompt-form" },
      h("label", { class: "field-label" }, label),
      input,
      h("div", { class: "modal-actions" },
        h("button", { type: "button", class: "btn", onclick: () => close(null) }, "Cancel"),
        h("button", { type: "submit", class: "btn primary" }, ok)));
    form.addEventListener("submit", (e) => { e.preventDefault(); const v = input.value.trim(); close(v || null); });
    if (extra) extra(input, form);
    return form;
  }).then((v) => (v === undefined ? null : v));
}
