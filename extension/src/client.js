/* Papershelf — HTTP client of the local backend (docs/api.md). Used by the background only:
 * content scripts cannot reach 127.0.0.1 (Chromium's Local Network Access check).
 *
 * Every failure is a BackendError with a `kind`:
 *   offline       nothing answers at the address (backend not running, wrong port)
 *   not-papershelf  something answers, but it is not Papershelf
 *   unauthorized  401: not paired, or the token was revoked
 *   forbidden     403: origin/host refused
 *   bad-request   400/404/409/413/415: the request itself is wrong (retrying won't help)
 *   server        5xx or an unreadable answer: worth retrying later
 */
(function (root) {
  "use strict";

  const DEFAULT_BACKEND = "http://127.0.0.1:27311";

  class BackendError extends Error {
    constructor(kind, message, status, field) {
      super(message);
      this.name = "BackendError";
      this.kind = kind;
      this.status = status || null;
      this.field = field || null;
    }
    /** Worth keeping the request and trying again later. */
    get retryable() {
      return this.kind === "offline" || this.kind === "server" || this.kind === "unauthorized" || this.kind === "forbidden" || this.kind === "not-papershelf";
    }
  }

  function normalizeBaseUrl(value) {
    let text = String(value || "").trim() || DEFAULT_BACKEND;
    if (!/^https?:\/\//i.test(text)) text = `http://${text}`;
    const url = new URL(text);
    return `${url.protocol}//${url.host}`;
  }

  function kindOfStatus(status) {
    if (status === 401) return "unauthorized";
    if (status === 403) return "forbidden";
    if (status >= 500) return "server";
    return "bad-request";
  }

  function createClient(options) {
    const opts = options || {};
    const baseUrl = normalizeBaseUrl(opts.baseUrl);
    const token = opts.token || "";
    const doFetch = opts.fetch || root.fetch.bind(root);
    const timeoutMs = opts.timeoutMs || 15000;

    async function request(method, path, { body, query, auth = true } = {}) {
      let url = baseUrl + path;
      if (query) {
        const qs = new URLSearchParams();
        for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null) qs.set(k, String(v));
        const s = qs.toString();
        if (s) url += `?${s}`;
      }
      const headers = { Accept: "application/json" };
      if (body !== undefined) headers["Content-Type"] = "application/json";
      if (auth && token) headers.Authorization = `Bearer ${token}`;
      const controller = typeof AbortController === "function" ? new AbortController() : null;
      const timer = controller ? setTimeout(() => controller.abort(), timeoutMs) : null;
      let res;
      try {
        res = await doFetch(url, {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          credentials: "omit",
          cache: "no-store",
          signal: controller ? controller.signal : undefined,
        });
      } catch (e) {
        throw new BackendError("offline", `Papershelf is not running at ${baseUrl}`);
      } finally {
        if (timer) clearTimeout(timer);
      }
      let data = null;
      const text = await res.text().catch(() => "");
      if (text) {
        try {
          data = JSON.parse(text);
        } catch (e) {
          data = null;
        }
      }
      if (!res.ok) {
        const message = (data && data.error) || `HTTP ${res.status}`;
        throw new BackendError(kindOfStatus(res.status), message, res.status, data && data.field);
      }
      if (data === null) throw new BackendError("server", `unreadable answer from ${baseUrl}${path}`, res.status);
      return data;
    }

    return {
      baseUrl,
      hasToken: Boolean(token),
      request,
      async ping() {
        let data;
        try {
          data = await request("GET", "/api/ping", { auth: false });
        } catch (e) {
          if (e.kind === "bad-request" || e.kind === "server") {
            throw new BackendError("not-papershelf", `${baseUrl} is not a Papershelf backend`, e.status);
          }
          throw e;
        }
        if (!data || data.app !== "papershelf") {
          throw new BackendError("not-papershelf", `${baseUrl} is not a Papershelf backend`);
        }
        return data;
      },
      status: () => request("GET", "/api/status"),
      async lookup(arxivIds) {
        const papers = {};
        const ids = Array.from(new Set(arxivIds));
        for (let i = 0; i < ids.length; i += 2000) {
          const data = await request("POST", "/api/papers/lookup", { body: { arxiv_ids: ids.slice(i, i + 2000) } });
          Object.assign(papers, data.papers || {});
        }
        return papers;
      },
      /** cards: parser records (each may carry tags/source). Returns the API answer. */
      savePapers: (cards, source) =>
        request("POST", "/api/papers", { body: source ? { papers: cards, source } : { papers: cards } }),
      changeTags: (paperId, add, remove) =>
        request("POST", `/api/papers/${encodeURIComponent(paperId)}/tags`, {
          body: { add: add || [], remove: remove || [] },
        }),
      getPaper: (paperId) => request("GET", `/api/papers/${encodeURIComponent(paperId)}`),
      tags: (prefix, limit) => request("GET", "/api/tags", { query: { prefix: prefix || "", limit: limit || 20 } }),
      pairRequest: (client) => request("POST", "/api/pair/requests", { body: { client }, auth: false }),
      pairPoll: (requestId, pollSecret) =>
        request("GET", `/api/pair/requests/${encodeURIComponent(requestId)}`, {
          query: { poll_secret: pollSecret },
          auth: false,
        }),
    };
  }

  const api = { createClient, BackendError, normalizeBaseUrl, DEFAULT_BACKEND };
  root.Papershelf = root.Papershelf || {};
  root.Papershelf.client = api;
  if (typeof module !== "undefined" && module.exports) module.exports = api;
})(typeof globalThis !== "undefined" ? globalThis : this);
