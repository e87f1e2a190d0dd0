/* Papershelf — pure parsing of Hugging Face paper listing pages.
 *
 * parsePage(root, pageUrl) finds every paper card under `root` (a Document or an element)
 * and returns one record per card in the shape the backend accepts:
 *   arxiv_id, title, abstract, authors, authors_count, org_name, org_fullname, published,
 *   date_text, upvotes, comments, github_repo, github_stars, submitted_by, thumbnail, hf_url
 * (absent values are null). The page's embedded JSON, joined by paper id, is preferred; the
 * DOM fills the gaps and alone decides which cards are on screen (the JSON goes stale after
 * in-page navigation). A card that cannot be read becomes an error entry; nothing throws.
 *
 * Classic script (content scripts cannot be modules): attaches to globalThis.Papershelf and
 * exports for node.
 */
(function (root) {
  "use strict";

  const S =
    typeof module !== "undefined" && module.exports && typeof require === "function"
      ? require("./selectors.js")
      : root.Papershelf.selectors;

  const HF = "https://huggingface.co";
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const RECORD_FIELDS = [
    "arxiv_id", "title", "abstract", "authors", "authors_count", "org_name", "org_fullname",
    "published", "date_text", "upvotes", "comments", "github_repo", "github_stars",
    "submitted_by", "thumbnail", "hf_url",
  ];

  // ---------------------------------------------------------------- small helpers
  function clean(text) {
    return text == null ? "" : String(text).replace(/\s+/g, " ").trim();
  }

  function given(value) {
    return value !== undefined && value !== null && value !== "";
  }

  function first(...values) {
    for (const v of values) if (given(v)) return v;
    return null;
  }

  /** "1.66k" → 1660, "2,345" → 2345, "-" → 0 (HF shows a dash for zero), "" → null. */
  function parseCount(text) {
    const t = clean(text).replace(/,/g, "");
    if (t === "-" || t === "–" || t === "—") return 0;
    const m = /^(\d+(?:\.\d+)?)\s*([kKmM])?$/.exec(t);
    if (!m) return null;
    let n = parseFloat(m[1]);
    if (m[2]) n *= m[2].toLowerCase() === "k" ? 1000 : 1000000;
    return Math.round(n);
  }

  /** The arXiv id a link points at, or null. Accepts relative and huggingface.co links. */
  function paperIdFromHref(href) {
    if (!href) return null;
    let url;
    try {
      url = new URL(href, HF);
    } catch (e) {
      return null;
    }
    if (url.hostname !== "huggingface.co") return null;
    const m = S.paperPath.exec(url.pathname);
    return m ? m[1] : null;
  }

  function isoDate(value) {
    if (!given(value)) return null;
    const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(String(value));
    return m ? `${m[1]}-${m[2]}-${m[3]}` : null;
  }

  /** "Feb 27, 2025" → "2025-02-27"; "May 29" → "<refYear>-05-29". */
  function parseDateText(text, refYear) {
    const m = S.dateText.exec(clean(text));
    if (!m) return null;
    const month = MONTHS.indexOf(m[1].slice(0, 3));
    if (month < 0) return null;
    const year = m[3] ? Number(m[3]) : refYear;
    if (!year) return null;
    const day = Number(m[2]);
    if (day < 1 || day > 31) return null;
    return `${year}-${String(month + 1).padStart(2, "0")}-${String(day).padStart(2, "0")}`;
  }

  /** The date as a list row shows it: "Feb 7" in the page's year, "Dec 29, 2025" otherwise. */
  function formatDateText(published, refYear) {
    const iso = isoDate(published);
    if (!iso) return null;
    const [y, mo, d] = iso.split("-").map(Number);
    const base = `${MONTHS[mo - 1]} ${d}`;
    return y === refYear ? base : `${base}, ${y}`;
  }

  // ---------------------------------------------------------------- page-level facts
  function viewOf(pageUrl) {
    let url;
    try {
      url = new URL(pageUrl);
    } catch (e) {
      return "other";
    }
    if (url.hostname !== "huggingface.co") return "other";
    const path = url.pathname.replace(/\/+$/, "");
    const listing =
      path === "/papers" ||
      path === "/papers/trending" ||
      /^\/papers\/(date\/\d{4}-\d{2}-\d{2}|week\/\d{4}-W\d{1,2}|month\/\d{4}-\d{2})$/.test(path);
    if (!listing) return "other";
    if (url.searchParams.get("q")) return "search";
    if (path === "/papers/trending") return "trending";
    if (path.startsWith("/papers/week/")) return "weekly";
    if (path.startsWith("/papers/month/")) return "monthly";
    return "daily";
  }

  function isListingPage(pageUrl) {
    return viewOf(pageUrl) !== "other";
  }

  /** The year a card's short date ("May 29") belongs to. */
  function referenceYear(meta, pageUrl, now) {
    const fromString = (s) => {
      const m = /^(\d{4})(?:-|$)/.exec(String(s || ""));
      return m ? Number(m[1]) : null;
    };
    let y = fromString(meta && meta.dateString);
    if (y) return y;
    try {
      const url = new URL(pageUrl);
      y = fromString(url.searchParams.get("date"));
      if (y) return y;
      const m = /^\/papers\/(?:date|week|month)\/(\d{4})/.exec(url.pathname);
      if (m) return Number(m[1]);
    } catch (e) {
      /* fall through */
    }
    return new Date(now || Date.now()).getFullYear();
  }

  /** The embedded JSON: items by paper id, plus page metadata. Never throws. */
  function readEmbedded(doc) {
    const out = { found: false, error: null, byId: new Map(), meta: {} };
    let nodes = [];
    try {
      nodes = Array.from(doc.querySelectorAll(S.embeddedJson));
    } catch (e) {
      return out;
    }
    for (const node of nodes) {
      const raw = node.getAttribute(S.embeddedJsonAttr);
      if (!raw) continue;
      out.found = true;
      let props;
      try {
        props = JSON.parse(raw);
      } catch (e) {
        out.error = `embedded JSON unreadable: ${e.message}`;
        continue;
      }
      if (!props || typeof props !== "object") continue;
      for (const key of ["dateString", "periodType", "isTrending", "query"]) {
        if (key in props && !(key in out.meta)) out.meta[key] = props[key];
      }
      for (const key of Object.keys(props)) {
        const list = props[key];
        if (!Array.isArray(list)) continue;
        for (const raw of list) {
          if (!raw || typeof raw !== "object") continue;
          const item = raw.paper && typeof raw.paper === "object" ? raw : raw.id && raw.title ? { paper: raw } : null;
          const id = item && item.paper.id;
          if (typeof id === "string" && S.arxivId.test(id) && !out.byId.has(id)) out.byId.set(id, item);
        }
      }
    }
    return out;
  }

  // ---------------------------------------------------------------- finding cards
  function titleLinks(scope) {
    const out = [];
    for (const a of scope.querySelectorAll(S.titleLink)) {
      const id = paperIdFromHref(a.getAttribute("href"));
      if (id) out.push({ a, id });
    }
    return out;
  }

  function distinctIds(el) {
    return new Set(titleLinks(el).map((l) => l.id));
  }

  /** The card element of a title link: its article, else the largest ancestor with one id. */
  function cardElementFor(link) {
    const art = link.closest(S.cardContainer);
    if (art && distinctIds(art).size <= 1) return art;
    let el = link;
    while (el.parentElement && el.parentElement !== art) {
      const parent = el.parentElement;
      if (parent.tagName === "BODY" || parent.tagName === "HTML" || distinctIds(parent).size > 1) break;
      el = parent;
    }
    return el;
  }

  /** Cards in page order: [{id, element, links}] — twinned copies make one card. */
  function findCards(scope) {
    const cards = [];
    const byElement = new Map();
    for (const { a, id } of titleLinks(scope)) {
      let element;
      try {
        element = cardElementFor(a);
      } catch (e) {
        element = a.parentElement || a; // unusual markup: the title's own block is the card
      }
      let card = byElement.get(element);
      if (!card) {
        card = { id, element, links: [] };
        byElement.set(element, card);
        cards.push(card);
      }
      if (card.id === id) card.links.push(a);
    }
    return cards;
  }

  function isRendered(el) {
    try {
      return typeof el.getClientRects === "function" && el.getClientRects().length > 0;
    } catch (e) {
      return false;
    }
  }

  /** The copy of a twinned card to read (the visible one, else the first); else the card. */
  function cardCopy(card) {
    if (card.links.length < 2) return { copy: card.element, link: card.links[0] };
    const link = card.links.find(isRendered) || card.links[0];
    let el = link;
    while (el.parentElement && el.parentElement !== card.element) el = el.parentElement;
    return { copy: el, link };
  }

  // ---------------------------------------------------------------- reading one card
  function textAfterLabel(scope, pattern) {
    const doc = scope.ownerDocument;
    const walker = doc.createTreeWalker(scope, 4 /* NodeFilter.SHOW_TEXT */);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (pattern.test(node.nodeValue) && node.parentElement) {
        const text = clean(node.parentElement.textContent).replace(pattern, "");
        return text || null;
      }
    }
    return null;
  }

  function readUpvotes(copy) {
    const holders = [copy.querySelector(S.upvoteLoginLink), copy.querySelector(S.upvoteLegacyLabel)];
    for (const holder of holders) {
      if (!holder) continue;
      const count = holder.querySelector(S.upvoteCountInWidget);
      const n = parseCount(count ? count.textContent : holder.textContent.replace(/upvote/i, ""));
      if (n !== null) return n;
    }
    return null;
  }

  function readOrg(copy) {
    for (const a of copy.querySelectorAll("a[href]")) {
      const m = S.orgLinkPath.exec(a.getAttribute("href") || "");
      if (!m || S.orgReservedPaths.includes(m[1])) continue;
      const img = a.querySelector("img[alt]");
      if (!img) continue;
      return { name: clean(img.getAttribute("alt")) || m[1], fullname: clean(a.textContent) || null };
    }
    return null;
  }

  function readDateText(copy) {
    for (const span of copy.querySelectorAll("span")) {
      if (span.children.length) continue;
      const text = clean(span.textContent);
      if (S.dateText.test(text)) return text.replace(/^Published on\s+/, "");
    }
    return null;
  }

  /** Everything the card's DOM shows (null where it shows nothing). */
  function readCardDom(copy, link, id, refYear) {
    const rec = {};
    rec.arxiv_id = id;
    rec.title = clean(link.textContent) || null;

    let abstract = null;
    for (const p of copy.querySelectorAll(S.abstractParagraph)) {
      if (p.closest("h3")) continue;
      const t = String(p.textContent || "").trim();
      if (t) {
        abstract = t;
        break;
      }
    }
    rec.abstract = abstract;

    const avatars = Array.from(copy.querySelectorAll(S.authorAvatar))
      .map((li) => clean(li.getAttribute("title")))
      .filter(Boolean);
    rec.authors = avatars;
    rec.authors_count = null;
    for (const li of copy.querySelectorAll("li")) {
      const m = S.authorsCount.exec(clean(li.textContent));
      if (m) {
        rec.authors_count = Number(m[1].replace(/,/g, ""));
        break;
      }
    }

    const org = readOrg(copy);
    rec.org_name = org ? org.name : null;
    rec.org_fullname = org ? org.fullname : null;

    rec.date_text = readDateText(copy);
    rec.published = rec.date_text ? parseDateText(rec.date_text, refYear) : null;
    rec.upvotes = readUpvotes(copy);

    const comments = copy.querySelector(S.commentsLink);
    rec.comments = comments ? parseCount(comments.textContent) : null;

    const gh = copy.querySelector(S.githubLink);
    rec.github_repo = gh ? gh.getAttribute("href") : null;
    rec.github_stars = gh ? parseCount(clean(gh.textContent).replace(/^GitHub\s*/i, "")) : null;

    rec.submitted_by = textAfterLabel(copy, S.submittedByText);

    const thumb = copy.querySelector(S.thumbnailImg);
    let thumbnail = null;
    if (thumb && thumb.getAttribute("src")) {
      try {
        thumbnail = new URL(thumb.getAttribute("src"), HF).href;
      } catch (e) {
        thumbnail = null;
      }
    }
    rec.thumbnail = thumbnail;
    return rec;
  }

  /** JSON item + DOM reading → one record (JSON preferred, DOM fills the gaps). */
  function mergeRecord(id, dom, item, refYear) {
    const rec = {};
    const p = (item && item.paper) || {};
    const it = item || {};
    const org = p.organization || it.organization || null;
    const jsonAuthors = Array.isArray(p.authors)
      ? p.authors.filter((a) => a && !a.hidden && given(a.name)).map((a) => clean(a.name))
      : null;
    const submitter = p.submittedOnDailyBy || it.submittedBy || null;

    rec.arxiv_id = id;
    rec.title = first(clean(p.title), clean(it.title), dom.title);
    rec.abstract = first(p.summary, it.summary, dom.abstract);
    rec.authors = jsonAuthors || dom.authors || [];
    // The row shows either "N authors" or an organisation chip.
    rec.authors_count = jsonAuthors ? (org ? null : jsonAuthors.length) : dom.authors_count;
    rec.org_name = first(org && org.name, dom.org_name);
    rec.org_fullname = first(org && org.fullname, dom.org_fullname);
    rec.published = first(isoDate(p.publishedAt), isoDate(it.publishedAt), dom.published);
    rec.date_text = first(dom.date_text, formatDateText(rec.published, refYear));
    rec.upvotes = first(typeof p.upvotes === "number" ? p.upvotes : null, dom.upvotes);
    rec.comments = first(typeof it.numComments === "number" ? it.numComments : null, dom.comments);
    rec.github_repo = first(p.githubRepo, dom.github_repo);
    rec.github_stars = first(typeof p.githubStars === "number" ? p.githubStars : null, dom.github_stars);
    rec.submitted_by = first(submitter && (submitter.user || submitter.name), dom.submitted_by);
    rec.thumbnail = first(it.thumbnail, dom.thumbnail);
    rec.hf_url = `${HF}/papers/${id}`;
    for (const f of RECORD_FIELDS) if (rec[f] === undefined || rec[f] === "") rec[f] = null;
    return fitRecord(rec);
  }

  // ---------------------------------------------------------------- fit for the library
  // What the backend accepts (backend/papershelf/records.py). A card is all-or-nothing
  // there, so a page that shows an over-long title or a javascript: link must not make the
  // whole card unsaveable: text is cleaned and clipped, unusable values become null.
  const LIMITS = { title: 1000, abstract: 50000, name: 300, authors: 5000, url: 2048, date_text: 64, count: 1e9 };
  // C0 controls but tab/newline/CR, and DEL (the backend refuses them), and lone surrogates.
  const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/g;
  const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

  /** `value` as library text: a string, NFC, no control characters, at most `limit`
   *  characters (code points; clipped ones end with "…"), or null. */
  function fitText(value, limit, multiline) {
    if (typeof value === "number" && Number.isFinite(value)) value = String(value);
    if (typeof value !== "string") return null;
    let text = value.replace(LONE_SURROGATE, "\uFFFD").replace(CONTROL, " ").normalize("NFC");
    text = multiline ? text.replace(/\r\n?/g, "\n").trim() : clean(text);
    if (!text) return null;
    const chars = Array.from(text);
    if (chars.length > limit) text = `${chars.slice(0, limit - 1).join("").trimEnd()}…`;
    return text;
  }

  /** An absolute http(s) URL the library accepts, else null (javascript:, data:, too long…). */
  function fitUrl(value) {
    const text = fitText(value, Infinity, false);
    if (!text || text.length > LIMITS.url || !/^https?:\/\/[^\s/]+/i.test(text)) return null;
    try {
      const url = new URL(text);
      return url.protocol === "http:" || url.protocol === "https:" ? text : null;
    } catch (e) {
      return null;
    }
  }

  function fitCount(value) {
    return Number.isInteger(value) && value >= 0 && value <= LIMITS.count ? value : null;
  }

  function fitDate(value) {
    const iso = isoDate(value);
    if (!iso) return null;
    const [y, m, d] = iso.split("-").map(Number);
    const day = new Date(Date.UTC(y, m - 1, d));
    if (day.getUTCFullYear() !== y || day.getUTCMonth() !== m - 1 || day.getUTCDate() !== d) return null;
    if (y < 1800 || day.getTime() > Date.now() + 365 * 86400000) return null;
    return iso;
  }

  /** A parsed record made acceptable to the library, field by field. */
  function fitRecord(rec) {
    const out = { ...rec };
    out.title = fitText(rec.title, LIMITS.title, false);
    out.abstract = fitText(rec.abstract, LIMITS.abstract, true);
    const authors = Array.isArray(rec.authors) ? rec.authors : [];
    out.authors = authors.map((a) => fitText(a, LIMITS.name, false)).filter(Boolean).slice(0, LIMITS.authors);
    for (const f of ["org_name", "org_fullname", "submitted_by"]) out[f] = fitText(rec[f], LIMITS.name, false);
    out.date_text = fitText(rec.date_text, LIMITS.date_text, false);
    out.published = fitDate(rec.published);
    for (const f of ["upvotes", "comments", "github_stars", "authors_count"]) out[f] = fitCount(rec[f]);
    if (out.authors_count !== null && out.authors_count < out.authors.length) out.authors_count = out.authors.length;
    for (const f of ["github_repo", "thumbnail", "hf_url"]) out[f] = fitUrl(rec[f]);
    return out;
  }

  // ---------------------------------------------------------------- the page
  /**
   * Parse every card under `root`.
   * Returns {url, view, refYear, embedded: {found, error, items}, cards: [{id, element,
   * record, error}], records: [...], errors: [{arxiv_id, error}]}.
   */
  function parsePage(root, pageUrl, options) {
    const opts = options || {};
    const doc = root && (root.ownerDocument || root);
    const result = {
      url: pageUrl || null,
      view: viewOf(pageUrl),
      refYear: null,
      embedded: { found: false, error: null, items: 0 },
      cards: [],
      records: [],
      errors: [],
    };
    let embedded = { found: false, error: null, byId: new Map(), meta: {} };
    try {
      embedded = opts.embedded || readEmbedded(doc);
    } catch (e) {
      embedded.error = String(e && e.message);
    }
    result.embedded = { found: embedded.found, error: embedded.error, items: embedded.byId.size };
    if (embedded.meta.isTrending === true && result.view === "daily") result.view = "trending";
    const refYear = referenceYear(embedded.meta, pageUrl, opts.now);
    result.refYear = refYear;

    let cards = [];
    try {
      cards = findCards(root);
    } catch (e) {
      result.errors.push({ arxiv_id: null, error: `could not look for cards: ${e && e.message}` });
      return result;
    }
    for (const card of cards) {
      const entry = { id: card.id, element: card.element, links: card.links, record: null, error: null };
      try {
        const { copy, link } = cardCopy(card);
        const dom = readCardDom(copy, link, card.id, refYear);
        const rec = mergeRecord(card.id, dom, embedded.byId.get(card.id), refYear);
        if (!rec.title) throw new Error("card has no title");
        entry.record = rec;
        result.records.push(rec);
      } catch (e) {
        entry.error = `card ${card.id} could not be read: ${(e && e.message) || e}`;
        result.errors.push({ arxiv_id: card.id, error: entry.error });
      }
      result.cards.push(entry);
    }
    return result;
  }

  const api = {
    RECORD_FIELDS,
    parsePage,
    findCards,
    cardCopy,
    isRendered,
    readEmbedded,
    readCardDom,
    mergeRecord,
    fitRecord,
    viewOf,
    isListingPage,
    referenceYear,
    paperIdFromHref,
    parseCount,
    parseDateText,
    formatDateText,
  };
  root.Papershelf = root.Papershelf || {};
  root.Papershelf.parse = api;
  if (typeof module !== "undefined" && module.exports) module.exports = api;
})(typeof globalThis !== "undefined" ? globalThis : this);
