// DOM helpers. Everything that comes from the web (titles, abstracts, authors, tags,
// notes, URLs) goes through textContent or a checked attribute: never innerHTML.

const SAFE_SCHEMES = new Set(["http:", "https:"]);

/** Return `url` if it is an absolute http(s) URL, else null (no javascript:, data:, ...). */
export function safeUrl(url) {
  if (typeof url !== "string" || !url) return null;
  try {
    const u = new URL(url);
    return SAFE_SCHEMES.has(u.protocol) ? u.href : null;
  } catch {
    return null;
  }
}

/**
 * h("div", {class: "x", onclick: fn, dataset: {id: 1}}, "text", child, [more])
 * Strings become text nodes. `href`/`src` must pass safeUrl unless they are relative
 * (start with "/" but not "//" or "/\", "#" or "?"): relative ones are built by this
 * page, not taken from the web.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") el.className = v;
      else if (k === "dataset") Object.assign(el.dataset, v);
      else if (k === "style" && typeof v === "object") Object.assign(el.style, v);
      else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
      else if (k === "text") el.textContent = v;
      else if (k === "innerHTML") throw new Error("innerHTML is not allowed");
      else if (k === "href" || k === "src") {
        const s = String(v);
        // "//host" and "/\host" are not relative: browsers take them to another site.
        const ok = /^(?:[#?]|\/(?![/\\]))/.test(s) ? s : safeUrl(s);
        if (ok) el.setAttribute(k, ok);
      } else if (k === "value") el.value = v;
      else if (k === "checked" || k === "disabled" || k === "selected" || k === "hidden") el[k] = !!v;
      else if (v === true) el.setAttribute(k, "");
      else el.setAttribute(k, String(v));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function replace(el, ...children) {
  clear(el);
  return append(el, children);
}

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

/** A small SVG icon from a fixed set (our own markup, no web data). */
const ICONS = {
  star: "M12 2.5l2.9 6.1 6.6.8-4.9 4.6 1.3 6.6L12 17.3l-5.9 3.3 1.3-6.6L2.5 9.4l6.6-.8z",
  search: "M10.5 3a7.5 7.5 0 015.9 12.1l4.3 4.3-1.4 1.4-4.3-4.3A7.5 7.5 0 1110.5 3zm0 2a5.5 5.5 0 100 11 5.5 5.5 0 000-11z",
  close: "M6.4 5L12 10.6 17.6 5 19 6.4 13.4 12l5.6 5.6-1.4 1.4-5.6-5.6L6.4 19 5 17.6 10.6 12 5 6.4z",
  sun: "M12 7a5 5 0 110 10 5 5 0 010-10zm0-5l1 3h-2zm0 20l-1-3h2zM2 12l3-1v2zm20 0l-3 1v-2zM4.9 4.9l2.8 1.4-1.4 1.4zm14.2 14.2l-2.8-1.4 1.4-1.4zM4.9 19.1l1.4-2.8 1.4 1.4zM19.1 4.9l-1.4 2.8-1.4-1.4z",
  moon: "M14.5 2.5A9.5 9.5 0 1021.5 15 7.5 7.5 0 0114.5 2.5z",
  auto: "M12 3a9 9 0 100 18V3z M12 1a11 11 0 110 22 11 11 0 010-22zm0 2a9 9 0 100 18 9 9 0 000-18z",
  download: "M11 3h2v9.2l3.3-3.3 1.4 1.4L12 16l-5.7-5.7 1.4-1.4 3.3 3.3zM4 18h16v2H4z",
  upload: "M11 16h2V6.8l3.3 3.3 1.4-1.4L12 3 6.3 8.7l1.4 1.4L11 6.8zM4 18h16v2H4z",
  tag: "M3 3h8.6l9.4 9.4-8.6 8.6L3 11.6zm4.5 3a1.5 1.5 0 100 3 1.5 1.5 0 000-3z",
  trash: "M9 3h6l1 2h4v2H4V5h4zm-3 6h12l-1 12H7z",
  check: "M9.5 16.2L5.3 12l-1.4 1.4 5.6 5.6L20.1 8.4 18.7 7z",
  book: "M4 4h7a3 3 0 013 3v13a2 2 0 00-2-2H4zm16 0h-4a3 3 0 00-3 3v13a2 2 0 012-2h5z",
  link: "M10.6 13.4a4 4 0 010-5.7l3-3a4 4 0 015.7 5.7l-1.5 1.5-1.4-1.4 1.5-1.5a2 2 0 00-2.9-2.9l-3 3a2 2 0 000 2.9zm2.8-2.8a4 4 0 010 5.7l-3 3a4 4 0 01-5.7-5.7l1.5-1.5 1.4 1.4-1.5 1.5a2 2 0 002.9 2.9l3-3a2 2 0 000-2.9z",
  keyboard: "M2 6h20v12H2zm2 2v2h2V8zm4 0v2h2V8zm4 0v2h2V8zm4 0v2h2V8zM4 12v2h2v-2zm4 0v2h8v-2zm10 0v2h2v-2z",
};
const SVGNS = "http://www.w3.org/2000/svg";
export function icon(name, cls = "icon") {
  const svg = document.createElementNS(SVGNS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", cls);
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(SVGNS, "path");
  path.setAttribute("d", ICONS[name] || "");
  svg.appendChild(path);
  return svg;
}

export function debounce(fn, ms) {
  let t = null;
  const d = (...args) => {
    clearTimeout(t);
    t = setTimeout(() => { t = null; fn(...args); }, ms);
  };
  d.flush = (...args) => { if (t !== null) { clearTimeout(t); t = null; fn(...args); } };
  d.cancel = () => { clearTimeout(t); t = null; };
  d.pending = () => t !== null;
  return d;
}

/** "Jun Park, Ana Novak +3" */
export function firstAuthors(p, n = 2) {
  const a = Array.isArray(p.authors) ? p.authors : [];
  const total = Math.max(a.length, p.authors_count || 0);
  if (!a.length) return total ? `${total} author${total === 1 ? "" : "s"}` : "";
  const shown = a.slice(0, n).join(", ");
  return total > n ? `${shown} +${total - n}` : shown;
}

export function shortDate(iso) {
  if (!iso) return "";
  return String(iso).slice(0, 10);
}

/** Compact relative time for lists: "just now", "5 min ago", "3 h ago", "2 d ago", else the date. */
export function relTime(iso) {
  if (!iso) return "";
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return String(iso);
  const s = (Date.now() - t) / 1000;
  if (s < 0) return shortDate(iso);
  if (s < 60) return "just now";
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  if (s < 86400 * 7) return `${Math.floor(s / 86400)} d ago`;
  return shortDate(iso);
}

// The first number formatted in a new page loads the locale's data, which takes 50 to 150 ms
// of the page's only thread: the page loads it (loadNumberFormat) once its first rows are
// on screen, and shows its counts after that.
let numberFormat = null;
/** 12345 -> "12,345" in the user's locale. */
export function formatNumber(n) {
  if (!numberFormat) numberFormat = new Intl.NumberFormat();
  return numberFormat.format(n);
}
/** Load the locale's number data now (the call that takes long is this one). */
export function loadNumberFormat() {
  formatNumber(0);
}
export const numberFormatLoaded = () => numberFormat !== null;

export function plural(n, word, pl = word + "s") {
  return `${formatNumber(n)} ${n === 1 ? word : pl}`;
}

export function arxivAbs(id) {
  return id ? `https://arxiv.org/abs/${encodeURIComponent(id).replace(/%2F/gi, "/")}` : null;
}
export function arxivPdf(id) {
  return id ? `https://arxiv.org/pdf/${encodeURIComponent(id).replace(/%2F/gi, "/")}` : null;
}
export function githubUrl(repo) {
  if (!repo) return null;
  const s = String(repo).trim();
  if (/^https?:\/\//i.test(s)) return safeUrl(s);
  if (/^[\w.-]+\/[\w.-]+$/.test(s)) return `https://github.com/${s}`;
  return null;
}
