// BibTeX export. The page downloads a .bib file: a plain browser saves it as a download;
// the desktop window catches the download and asks where to save it (native dialog).
import { api, ApiError, request } from "./api.js";

/** Import a .bib file's text; resolves the server's report (counts, skipped entries). */
export function importBibtex(text) {
  return request("POST", "/import", { body: { bibtex: text } });
}

/** True inside the Papershelf desktop window (pywebview injects `window.pywebview`). */
export function inDesktop() {
  return !!window.pywebview;
}

export function exportFilename(sel) {
  const day = new Date().toISOString().slice(0, 10);
  let what = "library";
  if (sel && sel.ids) what = `${sel.ids.length}-papers`;
  else if (sel && sel.tag) what = sel.tag.replace(/[^\w.-]+/g, "-").replace(/^-+|-+$/g, "") || "tag";
  return `papershelf-${what}-${day}.bib`;
}

/** Export `sel` ({ids}|{tag}|{}). Fetches first so that errors show as a message, not as
 * a downloaded error page. Resolves {downloaded: filename, entries: n}. */
export async function exportBibtex(sel) {
  const filename = exportFilename(sel);
  const res = await fetch(api.exportUrl(sel), { credentials: "same-origin", headers: { Accept: "application/x-bibtex, text/plain" } });
  if (!res.ok) {
    let msg = res.statusText;
    try { const j = await res.json(); msg = j.error || msg; } catch { /* not JSON */ }
    throw new ApiError(res.status, `Export failed: ${msg}`);
  }
  const text = await res.text();
  const entries = (text.match(/^\s*@[A-Za-z]+\s*\{/gm) || []).length;
  const url = URL.createObjectURL(new Blob([text], { type: "application/x-bibtex" }));
  const a = document.createElement("a");
  a.setAttribute("href", url);
  a.setAttribute("download", filename);
  a.hidden = true;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
  return { downloaded: filename, entries };
}
