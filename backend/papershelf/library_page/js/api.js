// The backend's JSON API (docs/api.md). The page is authenticated by the HttpOnly,
// SameSite=Strict session cookie the backend sets when it serves "/": every call is
// same-origin with credentials, nothing to copy or store here.

export class ApiError extends Error {
  constructor(status, message, field) {
    super(message || `HTTP ${status}`);
    this.status = status;
    this.field = field || null;
  }
}

const listeners = new Set();
let last = null; // the latest report, for listeners added after the first requests
/** Called with (ok: boolean, error) after every request: drives the "offline" banner. */
export function onConnectivity(fn) {
  listeners.add(fn);
  if (last) { try { fn(last.ok, last.err); } catch { /* ignore */ } }
}
function report(ok, err) {
  last = { ok, err };
  for (const fn of listeners) { try { fn(ok, err); } catch { /* ignore */ } }
}

function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v === undefined || v === null || v === "") continue;
    if (Array.isArray(v)) u.set(k, v.join(","));
    else u.set(k, String(v));
  }
  const s = u.toString();
  return s ? `?${s}` : "";
}

export async function request(method, path, { query, body, signal } = {}) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json" }, signal };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(`/api${path}${qs(query)}`, init);
  } catch (e) {
    if (e && e.name === "AbortError") throw e;
    report(false, e);
    throw new ApiError(0, "The Papershelf service is not reachable.");
  }
  report(true);
  let data = null;
  const text = await res.text();
  if (text) {
    try { data = JSON.parse(text); } catch { data = { error: text }; }
  }
  if (!res.ok) {
    throw new ApiError(res.status, (data && data.error) || res.statusText, data && data.field);
  }
  return data;
}

const enc = encodeURIComponent;

export const api = {
  ping: () => request("GET", "/ping"),
  status: () => request("GET", "/status"),

  listPapers: (params, signal) => request("GET", "/papers", { query: params, signal }),
  getPaper: (id) => request("GET", `/papers/${enc(id)}`),
  patchPaper: (id, fields) => request("PATCH", `/papers/${enc(id)}`, { body: fields }),
  deletePaper: (id) => request("DELETE", `/papers/${enc(id)}`),
  restorePaper: (id) => request("POST", `/papers/${enc(id)}/restore`),
  editTags: (id, add, remove) => request("POST", `/papers/${enc(id)}/tags`, { body: { add: add || [], remove: remove || [] } }),
  bulk: (ids, action, tags) => request("POST", "/papers/bulk", { body: tags ? { ids, action, tags } : { ids, action } }),
  undo: (undoId) => request("POST", `/undo/${enc(undoId)}`),

  tags: (prefix, limit) => request("GET", "/tags", { query: { prefix, limit } }),
  renameTag: (from, to) => request("POST", "/tags/rename", { body: { from, to } }),
  deleteTag: (name) => request("DELETE", `/tags/${enc(name)}`),

  duplicates: () => request("GET", "/duplicates"),
  duplicateCount: () => request("GET", "/duplicates/count"),
  merge: (keep, other, fields) => request("POST", "/duplicates/merge", { body: { keep, other, fields } }),
  dismiss: (a, b) => request("POST", "/duplicates/dismiss", { body: { a, b } }),

  pairRequests: () => request("GET", "/pair/requests"),
  approvePair: (id) => request("POST", `/pair/requests/${enc(id)}/approve`),
  denyPair: (id) => request("POST", `/pair/requests/${enc(id)}/deny`),
  clients: () => request("GET", "/clients"),
  revokeClient: (id) => request("DELETE", `/clients/${enc(id)}`),

  /** URL of the BibTeX export: {ids:[...]} or {tag:"x"} or {} for the whole library. */
  exportUrl: (sel) => `/api/export.bib${qs(sel && sel.ids ? { ids: sel.ids } : sel && sel.tag ? { tag: sel.tag } : {})}`,
};
