/* Papershelf — every Hugging Face page selector in one place.
 *
 * When huggingface.co changes its markup, this is the file to edit. The two anchors that
 * survived every redesign 2024–2026 are the title link (`h3 > a[href^="/papers/<id>"]`) and
 * the embedded JSON (`[data-target="DailyPapers"]` data-props); everything else is
 * best-effort and may be missing without breaking a card.
 *
 * Classic script: attaches to globalThis.Papershelf and exports for node.
 */
(function (root) {
  "use strict";

  const selectors = {
    // The page's embedded JSON (HTML-escaped in a data-props attribute).
    embeddedJson: '[data-target="DailyPapers"]',
    embeddedJsonAttr: "data-props",
    // Title links; the card is their closest <article> (or the nearest ancestor holding
    // exactly one distinct paper id).
    titleLink: 'h3 a[href*="/papers/"]',
    cardContainer: "article",
    // A paper page path: /papers/<arXiv id>, optionally with a version suffix.
    paperPath: /^\/papers\/(\d{4}\.\d{4,5})(?:v\d+)?\/?$/,
    arxivId: /^\d{4}\.\d{4,5}$/,

    // Inside one card (or one copy of a twinned trending card).
    abstractParagraph: "p",
    authorsList: "ul",
    authorAvatar: "li[title]",
    authorsCount: /(\d[\d,]*)\s+authors?\b/i,
    // An organisation chip is a link to "/<org>" holding an img[alt] and the full name.
    orgLinkPath: /^\/([A-Za-z0-9][\w.-]*)\/?$/,
    orgReservedPaths: ["papers", "login", "join", "models", "datasets", "spaces", "docs", "blog"],
    commentsLink: 'a[href$="#community"]',
    githubLink: 'a[href^="https://github.com/"]',
    // Upvote counts in each era: 2026 logged-out link, 2024 label widget, 2026 trending widget.
    upvoteLoginLink: 'a[href^="/login?next="]',
    upvoteCountInWidget: 'div.text-orange-500, div.leading-none',
    upvoteLegacyLabel: "label.shadow-alternate",
    submittedByText: /^\s*Submitted by\s+/i,
    thumbnailImg: 'img[src*="thumbnails"], img[src*="/papers/"]',
    // Date as the card shows it: "May 29" (current year) or "Feb 27, 2025";
    // trending cards prefix "Published on".
    dateText: /^(?:Published on\s+)?([A-Z][a-z]{2,8})\.?\s+(\d{1,2})(?:,\s*(\d{4}))?$/,

    // Where to put the Save button inside a card (first that exists, never inside a link).
    // The metadata row holds the authors list / organisation chip and the date.
    metaRowHints: ["ul", 'a[href^="/"] > img[alt]', "span"],

    // Our own markup (used to ignore our own DOM mutations).
    ownClass: "papershelf-widget",
    ownAttr: "data-papershelf-id",
  };

  root.Papershelf = root.Papershelf || {};
  root.Papershelf.selectors = selectors;
  if (typeof module !== "undefined" && module.exports) module.exports = selectors;
})(typeof globalThis !== "undefined" ? globalThis : this);
