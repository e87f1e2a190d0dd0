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
  // Text that clean() would change: outer whitespace, whitespace but " ", or "  ".
  const UNCLEAN = /^\s|\s$|[^\S ]| {2}/;

  function clean(text) {
    if (text == null) return "";
    const s = String(text);
    return UNCLEAN.test(s) ? s.replace(/\s+/g, " ").trim() : s;
  }

  function given(value) {
    return value !== undefined && value !== null && value !== "";
  }

  /** `value` if given, else null: `val(a) ?? val(b)` is the first given of a and b, and
   *  b is not even evaluated when a is given. */
  function val(value) {
    return given(value) ? value : null;
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

  // A root-relative path a URL parser keeps as it is (no "//" host, dot segments, escapes,
  // backslashes or spaces): its pathname is the text before any "?" or "#".
  const PLAIN_PATH = /^\/(?!\/)[\w.\/-]*$/;
  const DOT_SEGMENT = /(?:^|\/)\.\.?(?:\/|$)/;

  /** The arXiv id a link points at, or null. Accepts relative and huggingface.co links. */
  function paperIdFromHref(href) {
    if (!href) return null;
    const cut = href.search(/[?#]/);
    const path = cut < 0 ? href : href.slice(0, cut);
    if (PLAIN_PATH.test(path) && !DOT_SEGMENT.test(path)) {
      const m = S.paperPath.exec(path);
      return m ? m[1] : null;
    }
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

  // The last embedded JSON read: a page re-scanned after a DOM change usually still carries
  // the same (large) attribute text, which is then not parsed again.
  let lastEmbedded = null;

  /** The embedded JSON: items by paper id, plus page metadata. Never throws. The result is
   *  shared with later calls on the same JSON text: read it, do not change it. */
  function readEmbedded(doc) {
    const out = { found: false, error: null, byId: new Map(), meta: {} };
    let raws = [];
    try {
      raws = Array.from(doc.querySelectorAll(S.embeddedJson), (node) => node.getAttribute(S.embeddedJsonAttr));
    } catch (e) {
      return out;
    }
    const last = lastEmbedded;
    if (last && last.raws.length === raws.length && last.raws.every((raw, i) => raw === raws[i])) {
      return { ...last.out };
    }
    for (const raw of raws) {
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
        for (const entry of list) {
          if (!entry || typeof entry !== "object") continue;
          const item =
            entry.paper && typeof entry.paper === "object" ? entry : entry.id && entry.title ? { paper: entry } : null;
          const id = item && item.paper.id;
          if (typeof id === "string" && S.arxivId.test(id) && !out.byId.has(id)) out.byId.set(id, item);
        }
      }
    }
    lastEmbedded = { raws, out };
    return { ...out };
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

  function readAbstract(copy) {
    for (const p of copy.querySelectorAll(S.abstractParagraph)) {
      if (p.closest("h3")) continue;
      const t = String(p.textContent || "").trim();
      if (t) return t;
    }
    return null;
  }

  function readAuthorsCount(copy) {
    for (const li of copy.querySelectorAll("li")) {
      const m = S.authorsCount.exec(clean(li.textContent));
      if (m) return Number(m[1].replace(/,/g, ""));
    }
    return null;
  }

  function readThumbnail(copy) {
    const thumb = copy.querySelector(S.thumbnailImg);
    if (!thumb || !thumb.getAttribute("src")) return null;
    try {
      return new URL(thumb.getAttribute("src"), HF).href;
    } catch (e) {
      return null;
    }
  }

  const DOM_FIELDS = [
    "arxiv_id", "title", "abstract", "authors", "authors_count", "org_name", "org_fullname",
    "date_text", "published", "upvotes", "comments", "github_repo", "github_stars",
    "submitted_by", "thumbnail",
  ];

  /** The card's DOM as an object whose fields are read on first use (and then kept): the
   *  embedded JSON usually leaves most of them unneeded. The title is read at once, so a
   *  card whose title link cannot be read is an error even when the JSON has the title. */
  class CardDom {
    constructor(copy, link, id, refYear) {
      this.copy = copy;
      this.refYear = refYear;
      this.arxiv_id = id;
      this.title = clean(link.textContent) || null;
      this.memo = new Map();
    }

    once(key, read) {
      if (!this.memo.has(key)) this.memo.set(key, read(this.copy));
      return this.memo.get(key);
    }

    get abstract() {
      return this.once("abstract", readAbstract);
    }

    get authors() {
      return this.once("authors", (copy) =>
        Array.from(copy.querySelectorAll(S.authorAvatar))
          .map((li) => clean(li.getAttribute("title")))
          .filter(Boolean)
      );
    }

    get authors_count() {
      return this.once("authors_count", readAuthorsCount);
    }

    get org_name() {
      const org = this.once("org", readOrg);
      return org ? org.name : null;
    }

    get org_fullname() {
      const org = this.once("org", readOrg);
      return org ? org.fullname : null;
    }

    get date_text() {
      return this.once("date_text", readDateText);
    }

    get published() {
      return this.date_text ? parseDateText(this.date_text, this.refYear) : null;
    }

    get upvotes() {
      return this.once("upvotes", readUpvotes);
    }

    get comments() {
      const link = this.once("commentsLink", (copy) => copy.querySelector(S.commentsLink));
      return link ? parseCount(link.textContent) : null;
    }

    get github_repo() {
      const gh = this.once("gh", (copy) => copy.querySelector(S.githubLink));
      return gh ? gh.getAttribute("href") : null;
    }

    get github_stars() {
      const gh = this.once("gh", (copy) => copy.querySelector(S.githubLink));
      return gh ? parseCount(clean(gh.textContent).replace(/^GitHub\s*/i, "")) : null;
    }

    get submitted_by() {
      return this.once("submitted_by", (copy) => textAfterLabel(copy, S.submittedByText));
    }

    get thumbnail() {
      return this.once("thumbnail", readThumbnail);
    }
  }

  /** Everything the card's DOM shows (null where it shows nothing). */
  function readCardDom(copy, link, id, refYear) {
    const dom = new CardDom(copy, link, id, refYear);
    const rec = {};
    for (const f of DOM_FIELDS) rec[f] = dom[f];
    return rec;
  }

  /** JSON item + DOM reading → one record (JSON preferred, DOM fills the gaps). */
  function mergeRecord(id, dom, item, refYear) {
    const rec = {};
    const p = (item && item.paper) || {};
    const it = item || {};
    const org = p.organization || it.organization || null;
    let jsonAuthors = null;
    if (Array.isArray(p.authors)) {
      jsonAuthors = [];
      for (const a of p.authors) if (a && !a.hidden && given(a.name)) jsonAuthors.push(clean(a.name));
    }
    const submitter = p.submittedOnDailyBy || it.submittedBy || null;

    // The DOM is read only where the JSON has nothing (`dom` may read on access).
    rec.arxiv_id = id;
    rec.title = val(clean(p.title)) ?? val(clean(it.title)) ?? val(dom.title);
    rec.abstract = val(p.summary) ?? val(it.summary) ?? val(dom.abstract);
    rec.authors = jsonAuthors || dom.authors || [];
    // The row shows either "N authors" or an organisation chip.
    rec.authors_count = jsonAuthors ? (org ? null : jsonAuthors.length) : dom.authors_count;
    rec.org_name = val(org && org.name) ?? val(dom.org_name);
    rec.org_fullname = val(org && org.fullname) ?? val(dom.org_fullname);
    rec.published = val(isoDate(p.publishedAt)) ?? val(isoDate(it.publishedAt)) ?? val(dom.published);
    rec.date_text = val(dom.date_text) ?? val(formatDateText(rec.published, refYear));
    rec.upvotes = (typeof p.upvotes === "number" ? p.upvotes : null) ?? val(dom.upvotes);
    rec.comments = (typeof it.numComments === "number" ? it.numComments : null) ?? val(dom.comments);
    rec.github_repo = val(p.githubRepo) ?? val(dom.github_repo);
    rec.github_stars = (typeof p.githubStars === "number" ? p.githubStars : null) ?? val(dom.github_stars);
    rec.submitted_by = val(submitter && (submitter.user || submitter.name)) ?? val(dom.submitted_by);
    rec.thumbnail = val(it.thumbnail) ?? val(dom.thumbnail);
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
  const SURROGATE = /[\uD800-\uDFFF]/;
  const HAS_CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;
  const NOT_ASCII = /[^\u0000-\u007F]/;

  /** `value` as library text: a string, NFC, no control characters, at most `limit`
   *  characters (code points; clipped ones end with "…"), or null. */
  function fitText(value, limit, multiline) {
    if (typeof value === "number" && Number.isFinite(value)) value = String(value);
    if (typeof value !== "string") return null;
    let text = SURROGATE.test(value) ? value.replace(LONE_SURROGATE, "\uFFFD") : value;
    if (HAS_CONTROL.test(text)) text = text.replace(CONTROL, " ");
    if (NOT_ASCII.test(text)) text = text.normalize("NFC"); // ASCII is NFC already
    text = multiline ? text.replace(/\r\n?/g, "\n").trim() : clean(text);
    if (!text) return null;
    if (text.length <= limit) return text; // never more code points than UTF-16 units
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
    for (const f of ["github_repo", "thumbnail"]) out[f] = fitUrl(rec[f]);
    // The paper page mergeRecord made from an arXiv id is a URL the library accepts.
    const own = typeof rec.arxiv_id === "string" && S.arxivId.test(rec.arxiv_id) && rec.hf_url === `${HF}/papers/${rec.arxiv_id}`;
    out.hf_url = own ? rec.hf_url : fitUrl(rec.hf_url);
    return out;
  }

  // ---------------------------------------------------------------- the page
  /**
   * Parse every card under `root`.
   * Returns {url, view, refYear, embedded: {found, error, items}, cards: [{id, element,
   * links, copy, link, record, error}], records: [...], errors: [{arxiv_id, error}]}
   * (copy and link: what cardCopy chose, the copy of a twinned card that was read).
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
      const entry = { id: card.id, element: card.element, links: card.links, copy: null, link: null, record: null, error: null };
      try {
        const { copy, link } = cardCopy(card);
        entry.copy = copy;
        entry.link = link;
        const dom = new CardDom(copy, link, card.id, refYear);
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
