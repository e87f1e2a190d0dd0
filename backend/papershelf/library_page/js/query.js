// What the list shows, read from the page's address (#/library?q=...&tag=...), and the
// list request it makes. No imports: start.js uses it before the rest of the page loads.

/** Rows asked for first when the query changes: a screenful (rows of 36 px under about
 * 120 px of bars, plus the list's 8 rows of overscan), in tens, 30 to 100. The backend's
 * time for a request grows with the rows it returns, so the answer that the user waits
 * for is no bigger than the screen; the rest of the list comes in pages of 100. */
export const FIRST_ROWS = Math.min(100, Math.max(30,
  Math.ceil((Math.ceil(((window.innerHeight || 900) - 120) / 36) + 8) / 10) * 10));

export const VIEWS = ["library", "duplicates", "tags", "pairing"];
export const DEFAULTS = { q: "", tag: "", read: "", starred: false, trash: false, sort: "", order: "" };
export const SORTS = [
  { value: "added", label: "Date added" },
  { value: "published", label: "Published" },
  { value: "upvotes", label: "Upvotes" },
  { value: "title", label: "Title" },
  { value: "relevance", label: "Relevance" },
];

export const defaultOrder = (sort) => (sort === "title" ? "asc" : "desc");
export const effectiveSort = (st) => st.sort || (st.q ? "relevance" : "added");
export const effectiveOrder = (st) => st.order || defaultOrder(effectiveSort(st));

/** {view, filters}: filters is null for the other views (they keep the library's). */
export function parseHash(hash) {
  const raw = String(hash || "").replace(/^#\/?/, "");
  const [name, qs] = raw.split("?");
  const view = VIEWS.includes(name) ? name : "library";
  if (view !== "library") return { view, filters: null };
  const u = new URLSearchParams(qs || "");
  return {
    view,
    filters: {
      q: u.get("q") || "",
      tag: u.get("tag") || "",
      read: ["true", "false"].includes(u.get("read")) ? u.get("read") : "",
      starred: u.get("starred") === "1",
      trash: u.get("trash") === "1",
      sort: SORTS.some((s) => s.value === u.get("sort")) ? u.get("sort") : "",
      order: ["asc", "desc"].includes(u.get("order")) ? u.get("order") : "",
    },
  };
}

/** The query parameters of GET /api/papers for these filters (without limit/offset). */
export function listParams(st) {
  const p = { sort: effectiveSort(st) };
  if (p.sort !== "relevance") p.order = effectiveOrder(st);
  if (st.q) p.q = st.q;
  if (st.tag) p.tag = st.tag;
  if (st.read) p.read = st.read;
  if (st.starred) p.starred = "true";
  if (st.trash) p.trash = "true";
  return p;
}
