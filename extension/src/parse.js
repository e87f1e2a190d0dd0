//# allFunctionsCalledOnLoad
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
 *
 * The first line is a V8 compile hint (Chromium; a plain comment elsewhere): every function
 * here is compiled when the script loads instead of on its first call, so the first scan of
 * a page, which calls most of them once, does not wait for the compiler.
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
  // An address on huggingface.co in the plain form listings have (no port, user, escapes,
  // "+" or dot segments): its path and query are read as they stand, without building a
  // URL object (the content script asks at the start of every scan).
  const PLAIN_HF = /^https:\/\/huggingface\.co(\/[\w.\/-]*)?(?:\?([\w.=&-]*))?(?:#.*)?$/;

  /** The path and the `q` parameter of `pageUrl` (null if not on huggingface.co or not a URL). */
  function pathAndQuery(pageUrl) {
    const plain = typeof pageUrl === "string" ? PLAIN_HF.exec(pageUrl) : null;
    if (plain && !DOT_SEGMENT.test(plain[1] || "")) {
      let q = null;
      for (const pair of (plain[2] || "").split("&")) {
        const eq = pair.indexOf("=");
        if ((eq < 0 ? pair : pair.slice(0, eq)) === "q") {
          q = eq < 0 ? "" : pair.slice(eq + 1);
          break;
        }
      }
      return { path: plain[1] || "/", q };
    }
    let url;
    try {
      url = new URL(pageUrl);
    } catch (e) {
      return null;
    }
    return url.hostname === "huggingface.co" ? { path: url.pathname, q: url.searchParams.get("q") } : null;
  }

  function viewOf(pageUrl) {
    const where = pathAndQuery(pageUrl);
    if (!where) return "other";
    const path = where.path.replace(/\/+$/, "");
    const listing =
      path === "/papers" ||
      path === "/papers/trending" ||
      /^\/papers\/(date\/\d{4}-\d{2}-\d{2}|week\/\d{4}-W\d{1,2}|month\/\d{4}-\d{2})$/.test(path);
    if (!listing) return "other";
    if (where.q) return "search";
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

  /** The paper ids of the title links under `el` (`known`: ids already read, by link). */
  function distinctIds(el, known) {
    const ids = new Set();
    for (const a of el.querySelectorAll(S.titleLink)) {
      const id = known && known.has(a) ? known.get(a) : paperIdFromHref(a.getAttribute("href"));
      if (id) ids.add(id);
    }
    return ids;
  }

  /** The card element of a title link: its article, else the largest ancestor with one id.
   *  (`art`: the link's closest article; `known`: ids by link; `articles`: the ids of some
   *  articles' title links.) */
  function cardElementFor(link, art, known, articles) {
    if (art && (articles.has(art) ? articles.get(art) : distinctIds(art, known)).size <= 1) return art;
    let el = link;
    while (el.parentElement && el.parentElement !== art) {
      const parent = el.parentElement;
      if (parent.tagName === "BODY" || parent.tagName === "HTML" || distinctIds(parent, known).size > 1) break;
      el = parent;
    }
    return el;
  }

  function closestArticle(link) {
    try {
      return link.closest(S.cardContainer);
    } catch (e) {
      return undefined; // unusual markup: see findCards
    }
  }

  /** Cards in page order: [{id, element, links}] — twinned copies make one card. */
  function findCards(scope) {
    const cards = [];
    const byElement = new Map();
    const links = titleLinks(scope);
    const known = new Map();
    // Each link's article, and the ids in each article inside `scope` (all its title links
    // are among `links`): one look-up per link, not one query per article.
    const articles = new Map();
    for (const link of links) {
      known.set(link.a, link.id);
      const art = (link.art = closestArticle(link.a));
      if (!art || !scope.contains(art)) continue;
      const ids = articles.get(art);
      if (ids) ids.add(link.id);
      else articles.set(art, new Set([link.id]));
    }
    for (const { a, id, art } of links) {
      let element;
      try {
        if (art === undefined) throw new Error("no article");
        element = cardElementFor(a, art, known, articles);
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
    constructor(copy, link, id, refYear, title) {
      this.copy = copy;
      this.refYear = refYear;
      this.arxiv_id = id;
      this.title = title !== undefined ? title : clean(link.textContent) || null;
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

  function fitTitle(value) {
    return fitText(clean(value), LIMITS.title, false);
  }

  /** The card's title for the library: the JSON's if it has a usable one, else the one the
   *  card shows; null if neither is usable. */
  function titleOf(domTitle, item) {
    const p = (item && item.paper) || {};
    const it = item || {};
    return fitTitle(p.title) ?? fitTitle(it.title) ?? fitTitle(domTitle);
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
    rec.title = titleOf(dom.title, item);
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
  /** What one parse knows of the page beyond its cards. The embedded JSON (a large
   *  attribute) is read only when first needed; a listing whose cards all show their
   *  titles needs it only for records. */
  class PageFacts {
    constructor(doc, pageUrl, opts) {
      this.doc = doc;
      this.pageUrl = pageUrl;
      this.now = opts.now;
      this.embedded = opts.embedded || null;
      this.year = null;
    }

    get json() {
      if (!this.embedded) {
        try {
          this.embedded = readEmbedded(this.doc);
        } catch (e) {
          this.embedded = { found: false, error: String(e && e.message), byId: new Map(), meta: {} };
        }
      }
      return this.embedded;
    }

    item(id) {
      return this.json.byId.get(id);
    }

    get view() {
      const view = viewOf(this.pageUrl);
      return this.json.meta.isTrending === true && view === "daily" ? "trending" : view;
    }

    get refYear() {
      if (this.year === null) this.year = referenceYear(this.json.meta, this.pageUrl, this.now);
      return this.year;
    }

    get summary() {
      const { found, error, byId } = this.json;
      return { found, error, items: byId.size };
    }
  }

  /** A card of parsePage(…, {lazyRecords: true}). `readable` is decided at once; `title`
   *  and `record` are worked out when first asked for (record: null, with `error` set, if
   *  reading it fails). */
  class LazyCard {
    constructor(card, copy, link, domTitle, page) {
      this.id = card.id;
      this.element = card.element;
      this.links = card.links;
      this.copy = copy;
      this.link = link;
      this.error = null;
      this.domTitle = domTitle;
      this.page = page;
      this.fitted = undefined;
      this.rec = undefined;
      // A card that shows a title is readable whatever the JSON says (the JSON's title is
      // preferred only when usable); only one that shows none needs the JSON now.
      this.readable = fitTitle(domTitle) !== null || this.title !== null;
    }

    get title() {
      if (this.fitted === undefined) this.fitted = titleOf(this.domTitle, this.page.item(this.id));
      return this.fitted;
    }

    get record() {
      if (this.rec === undefined) {
        this.rec = null;
        if (!this.readable) return null;
        const page = this.page;
        try {
          const dom = new CardDom(this.copy, this.link, this.id, page.refYear, this.domTitle);
          this.rec = mergeRecord(this.id, dom, page.item(this.id), page.refYear);
        } catch (e) {
          this.error = `card ${this.id} could not be read: ${(e && e.message) || e}`;
        }
      }
      return this.rec;
    }
  }

  /**
   * Parse every card under `root`.
   * Returns {url, view, refYear, embedded: {found, error, items}, cards: [{id, element,
   * links, copy, link, readable, title, record, error}], records: [...], errors: [{arxiv_id,
   * error}]} (copy and link: what cardCopy chose, the copy of a twinned card that was read;
   * readable: the card has a title, from the JSON or the page; title: the record's title,
   * null when the card cannot be read).
   *
   * options.lazyRecords: only which cards can be read is worked out now; a card's title
   * and record are read from its JSON item and DOM when first asked for (card.title,
   * card.record), and `records` stays empty. The embedded JSON is then read only when a
   * card shows no title or something needs it (a title, a record, view, refYear, embedded:
   * getters). Which cards can be read, their titles and records are the same either way.
   */
  function parsePage(root, pageUrl, options) {
    const opts = options || {};
    const lazy = Boolean(opts.lazyRecords);
    const doc = root && (root.ownerDocument || root);
    const page = new PageFacts(doc, pageUrl, opts);
    const result = { url: pageUrl || null, view: null, refYear: null, embedded: null, cards: [], records: [], errors: [] };
    if (lazy) {
      Object.defineProperties(result, {
        view: { get: () => page.view, enumerable: true },
        refYear: { get: () => page.refYear, enumerable: true },
        embedded: { get: () => page.summary, enumerable: true },
      });
    } else {
      result.view = page.view;
      result.refYear = page.refYear;
      result.embedded = page.summary;
    }

    let cards = [];
    try {
      cards = findCards(root);
    } catch (e) {
      result.errors.push({ arxiv_id: null, error: `could not look for cards: ${e && e.message}` });
      return result;
    }
    for (const card of cards) {
      let entry = null;
      let copy = null;
      let link = null;
      try {
        ({ copy, link } = cardCopy(card));
        // Read at once: a card whose title link cannot be read is an error even when the
        // JSON has its title.
        const domTitle = clean(link.textContent) || null;
        if (lazy) {
          entry = new LazyCard(card, copy, link, domTitle, page);
          if (!entry.readable) throw new Error("card has no title");
        } else {
          const dom = new CardDom(copy, link, card.id, page.refYear, domTitle);
          const rec = mergeRecord(card.id, dom, page.item(card.id), page.refYear);
          if (!rec.title) throw new Error("card has no title");
          entry = { id: card.id, element: card.element, links: card.links, copy, link, readable: true, title: rec.title, record: rec, error: null };
          result.records.push(rec);
        }
      } catch (e) {
        if (!entry) {
          entry = { id: card.id, element: card.element, links: card.links, copy, link, readable: false, title: null, record: null, error: null };
        }
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
