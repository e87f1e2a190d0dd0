/* Papershelf — the outbox: saves made while the backend cannot take them.
 *
 * Entries live in extension storage (chrome.storage.local in the browser), one per paper
 * (keyed by arXiv id, else by title), so saving the same card twice while offline queues it
 * once. flush(send) delivers them in batches; an entry leaves the outbox only after the
 * backend answered for it. The backend merges by arXiv id, so delivering an entry twice
 * (an answer lost on the way) creates no duplicate: exactly once in effect.
 * An entry the backend rejects as bad input moves to `failed`, shown to the user: nothing is
 * ever silently dropped.
 *
 * Classic script: attaches to globalThis.Papershelf and exports for node.
 */
(function (root) {
  "use strict";

  const KEY = "outbox";
  const FAILED_KEY = "outboxFailed";
  const BATCH = 100;

  function entryKey(card) {
    if (card && card.arxiv_id) return `arxiv:${card.arxiv_id}`;
    return `title:${String((card && card.title) || "").toLowerCase().replace(/\s+/g, " ").trim()}`;
  }

  /**
   * storage: {get(key) → Promise<value|undefined>, set(key, value) → Promise}
   */
  function createOutbox(storage, options) {
    const opts = options || {};
    const now = opts.now || (() => Date.now());
    let chain = Promise.resolve();
    let flushing = null;
    let rev = 0;

    // Serialise every read-modify-write of the stored lists.
    function locked(fn) {
      const run = chain.then(fn, fn);
      chain = run.catch(() => {});
      return run;
    }
    const read = async (key) => (await storage.get(key)) || [];

    function add(cards, source) {
      return locked(async () => {
        const items = await read(KEY);
        for (const card of cards) {
          const key = entryKey(card);
          const existing = items.find((e) => e.key === key);
          rev += 1;
          const stamp = `${now()}-${rev}-${Math.random().toString(36).slice(2, 8)}`;
          if (existing) {
            const tags = Array.from(new Set([...(existing.card.tags || []), ...(card.tags || [])]));
            existing.card = { ...card, tags: tags.length ? tags : undefined };
            if (!existing.card.tags) delete existing.card.tags;
            existing.source = source || existing.source || null;
            existing.stamp = stamp;
          } else {
            items.push({ key, card, source: source || null, queued_at: now(), stamp, attempts: 0, last_error: null });
          }
        }
        await storage.set(KEY, items);
        return items.length;
      });
    }

    const items = () => locked(() => read(KEY));
    const failed = () => locked(() => read(FAILED_KEY));
    const count = () => locked(async () => (await read(KEY)).length);

    /** Remove delivered entries — unless they were queued again meanwhile (new stamp). */
    function settle(delivered, errorsByKey) {
      return locked(async () => {
        const stamps = new Map(delivered.map((e) => [e.key, e.stamp]));
        let list = await read(KEY);
        list = list.filter((e) => stamps.get(e.key) !== e.stamp);
        if (errorsByKey) {
          for (const e of list) {
            if (errorsByKey.has(e.key)) {
              e.attempts = (e.attempts || 0) + 1;
              e.last_error = errorsByKey.get(e.key);
            }
          }
        }
        await storage.set(KEY, list);
        return list.length;
      });
    }

    function moveToFailed(entries, message) {
      return locked(async () => {
        const keys = new Map(entries.map((e) => [e.key, e.stamp]));
        const list = (await read(KEY)).filter((e) => keys.get(e.key) !== e.stamp);
        const bad = await read(FAILED_KEY);
        for (const e of entries) {
          const i = bad.findIndex((b) => b.key === e.key);
          const entry = { ...e, last_error: message(e), failed_at: now() };
          if (i >= 0) bad[i] = entry;
          else bad.push(entry);
        }
        await storage.set(KEY, list);
        await storage.set(FAILED_KEY, bad);
      });
    }

    /**
     * Deliver everything. send(entries) → Promise<results aligned with entries>; it throws a
     * BackendError-like {kind, message}. Resolves {delivered, remaining, failed, error}.
     * Only one flush runs at a time; a second call joins the running one.
     */
    function flush(send) {
      if (flushing) return flushing;
      flushing = (async () => {
        const report = { delivered: [], remaining: 0, failed: 0, error: null };
        const snapshot = await items();
        for (let i = 0; i < snapshot.length; i += BATCH) {
          const batch = snapshot.slice(i, i + BATCH);
          try {
            const results = await send(batch);
            report.delivered.push(...batch.map((e, j) => ({ entry: e, result: results ? results[j] : null })));
            await settle(batch);
          } catch (err) {
            if (err && err.kind === "bad-request") {
              // One bad card must not hold back the others: send them one by one.
              for (const entry of batch) {
                try {
                  const results = await send([entry]);
                  report.delivered.push({ entry, result: results ? results[0] : null });
                  await settle([entry]);
                } catch (e2) {
                  if (e2 && e2.kind === "bad-request") {
                    await moveToFailed([entry], () => String(e2.message || e2));
                    report.failed += 1;
                  } else {
                    report.error = e2;
                    await settle([], new Map([[entry.key, String((e2 && e2.message) || e2)]]));
                    break;
                  }
                }
              }
              if (report.error) break;
            } else {
              report.error = err;
              await settle([], new Map(batch.map((e) => [e.key, String((err && err.message) || err)])));
              break;
            }
          }
        }
        report.remaining = await count();
        return report;
      })();
      const done = () => {
        flushing = null;
      };
      flushing.then(done, done);
      return flushing;
    }

    /** Put failed entries back into the outbox (the user asked to retry them). */
    function retryFailed() {
      return locked(async () => {
        const bad = await read(FAILED_KEY);
        const list = await read(KEY);
        for (const e of bad) if (!list.some((x) => x.key === e.key)) list.push({ ...e, attempts: 0 });
        await storage.set(KEY, list);
        await storage.set(FAILED_KEY, []);
        return list.length;
      });
    }

    /** The user explicitly discards a failed entry. */
    function discardFailed(key) {
      return locked(async () => {
        const bad = (await read(FAILED_KEY)).filter((e) => e.key !== key);
        await storage.set(FAILED_KEY, bad);
        return bad.length;
      });
    }

    return { add, items, failed, count, flush, retryFailed, discardFailed, entryKey };
  }

  /** A storage adapter over chrome.storage.local / browser.storage.local. */
  function extensionStorage(area) {
    return {
      get: async (key) => (await area.get(key))[key],
      set: (key, value) => area.set({ [key]: value }),
    };
  }

  /** A storage adapter in memory (tests). */
  function memoryStorage(initial) {
    const data = new Map(Object.entries(initial || {}));
    return {
      data,
      get: async (key) => (data.has(key) ? JSON.parse(JSON.stringify(data.get(key))) : undefined),
      set: async (key, value) => {
        data.set(key, JSON.parse(JSON.stringify(value)));
      },
    };
  }

  const api = { createOutbox, extensionStorage, memoryStorage, entryKey, KEY, FAILED_KEY };
  root.Papershelf = root.Papershelf || {};
  root.Papershelf.outbox = api;
  if (typeof module !== "undefined" && module.exports) module.exports = api;
})(typeof globalThis !== "undefined" ? globalThis : this);
