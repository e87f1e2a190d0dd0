"""BibTeX export: paper dicts -> a .bib text that BibTeX, biber and pdflatex accept.

Owns the text -> LaTeX direction (``latex_text``, ``latex_title``, ``latex_name``) and
the entry layout.  ``entry(paper)`` gives one entry, ``export(papers)`` a whole file
plus a report of what is incomplete.  Pure functions: no storage, no HTTP.

Layout.  arXiv papers come out as ``@misc`` lined up with arXiv's own "Export BibTeX
citation" (title, author, year, eprint, archivePrefix, primaryClass, url), with
``author`` as "Last, First and ...", ``month`` as a BibTeX macro (``month = sep``) and
``doi`` when known; then ``abstract``, ``keywords`` (the tags), ``note`` and
``ids`` (biblatex alias keys, from ``key_aliases``).  Non-arXiv papers keep their
``entry_type`` and their journal/booktitle/volume/... fields.  Entries are sorted by
key, fields come in a fixed order, and nothing depends on time: the same library gives
byte-identical output, and export -> import -> export gives the same file.

Escaping (every choice is undone exactly by ``bibtex_import``):

* ``& % $ # _`` -> ``{\\&} {\\%} {\\$} {\\#} {\\_}`` (BibTeX special characters); ``{ } \\ ~ ^ < > |`` -> ``{\\textbraceleft}``,
  ``{\\textbraceright}``, ``{\\textbackslash}``, ``{\\textasciitilde}``,
  ``{\\textasciicircum}``, ``{\\textless}``, ``{\\textgreater}``, ``{\\textbar}`` (BibTeX
  counts braces even after a backslash, so ``\\{`` would unbalance the field); ``[ ]`` ->
  ``{[} {]}`` (a bracket in a name would end ``\\bibitem[label]`` in alpha styles); TeX
  ligatures (``--``, ``''``, ````` ``, ``?``` ...) are broken with ``{}`` so that they
  read back as typed.
* Math: a ``$...$`` span (non-empty, no space just inside the dollars, ASCII, balanced
  braces, only macros that plain LaTeX knows or that the file's ``@preamble`` provides a
  fallback for, e.g. ``\\mathbb`` -> ``\\mathbf`` when amssymb is not loaded) is kept
  verbatim and brace-protected: ``{$O(n)$}``.  A bare ``x^2`` or ``S^{2}FT`` becomes
  ``x$^2$`` / ``S$^{2}$FT``; ``x_{i}`` becomes ``x$_{i}$``; any other ``$``, ``^`` or
  ``_`` is escaped as text.
* Non-ASCII: characters whose pylatexenc spelling compiles with pdflatex under both OT1
  and T1 font encodings and reads back to the same character (Latin accents, Greek,
  dashes, quotes, currency, common math symbols) are written as LaTeX commands in
  BibTeX's special-character form, ``{\\'e}``.  Everything else (CJK, Cyrillic, Arabic,
  emoji, ``ą``, ``þ`` ...) is kept as UTF-8 -- the file stays readable and lossless --
  wrapped as ``{\\relax 中文}`` so that BibTeX styles treat the run as one character (no
  UTF-8 sequence cut in half by ``alpha`` labels or ``abbrv`` initials).  The file then
  starts with an ``@preamble`` that, under pdflatex's UTF-8 input, sets up each such
  character the document has not set up itself: it prints the ASCII fallback (``a`` for
  ``ą``, ``th`` for ``þ``, ``?`` for ``中``) or, when the document defines it,
  ``\\PapershelfMissingGlyph{<hex>}{<fallback>}``.  Characters the LaTeX kernel maps to
  T1-only commands (``þ`` -> ``\\th``, ``ą`` -> ``\\k a``) print for real under
  ``[T1]{fontenc}`` and fall back under OT1 instead of stopping with "Command \\th
  unavailable in encoding OT1".  Documents that set the characters up (``CJKutf8``,
  ``\\DeclareUnicodeCharacter``, T2A for Cyrillic) or run xelatex/lualatex print them as
  they are.  The preamble also writes these definitions to the .aux, so labels and names
  typeset by ``\\cite`` (alpha, natbib) work from the second LaTeX run after bibtex on.
* Titles: words that styles must not lowercase are brace-protected: acronyms and
  mixed-case words (``{LLM}``, ``{ChatGPT}``, ``{T3}``), single capitals other than "A",
  math, and -- in sentence-case titles -- every capitalised word that does not start
  the title or follow a colon (``a survey of {Gaussian} processes``).
* Whitespace is collapsed to single spaces and control/format characters dropped.
"""

from __future__ import annotations

import functools
import os
import re
import tempfile
import unicodedata
from typing import Any, Callable, Iterable, Iterator, NamedTuple

from . import citekeys

__all__ = [
    "Rendering",
    "entry",
    "export",
    "render",
    "latex_text",
    "latex_title",
    "latex_name",
    "latex_names",
    "write_atomic",
    "ARXIV_ABS_URL",
    "PREAMBLE_MARK",
]

ARXIV_ABS_URL = "https://arxiv.org/abs/{}"
# The generated @preamble starts with this; the importer recognises and skips it.
PREAMBLE_MARK = r"\providecommand{\PapershelfPreamble}{}"

MONTH_MACROS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTH_NAMES = {name: i + 1 for i, name in enumerate(MONTH_MACROS)}
_MONTH_NAMES.update({
    "january": 1, "february": 2, "march": 3, "april": 4, "june": 6, "july": 7, "august": 8,
    "september": 9, "sept": 9, "october": 10, "november": 11, "december": 12,
})

# Code points whose pylatexenc spelling was checked to compile with pdflatex under OT1
# and T1 (tests/bibtex/test_bibtex_tex.py compiles them all again) and to read back exactly.
_SAFE_RANGES = (
    (0x00A1, 0x00AA), (0x00AC, 0x00AC), (0x00AE, 0x00B6), (0x00B9, 0x00BA),
    (0x00BC, 0x00CF), (0x00D1, 0x00DD), (0x00DF, 0x00EF), (0x00F1, 0x00FD),
    (0x00FF, 0x0103), (0x0106, 0x010F), (0x0112, 0x0117), (0x011A, 0x0125),
    (0x0128, 0x012D), (0x0130, 0x0137), (0x0139, 0x013E), (0x0141, 0x0148),
    (0x014C, 0x0165), (0x0168, 0x016F), (0x0174, 0x017E), (0x0192, 0x0192),
    (0x01E7, 0x01E7), (0x01F5, 0x01F5), (0x0228, 0x0229), (0x02C7, 0x02C7),
    (0x02D8, 0x02D9), (0x02DD, 0x02DD), (0x0393, 0x0394), (0x0398, 0x0398),
    (0x039B, 0x039B), (0x039E, 0x039E), (0x03A0, 0x03A0), (0x03A3, 0x03A3),
    (0x03A5, 0x03A6), (0x03A8, 0x03A9), (0x03AC, 0x03AC), (0x03AE, 0x03BE),
    (0x03C0, 0x03CB), (0x03CD, 0x03CE), (0x03D1, 0x03D1), (0x03D5, 0x03D6),
    (0x03F1, 0x03F1), (0x03F5, 0x03F5), (0x0E3F, 0x0E3F), (0x2013, 0x2014),
    (0x2016, 0x2016), (0x2018, 0x2019), (0x201C, 0x201D), (0x2020, 0x2022),
    (0x2026, 0x2026), (0x2030, 0x2031), (0x203B, 0x203B), (0x203D, 0x203D),
    (0x2044, 0x2044), (0x204E, 0x204E), (0x2052, 0x2052), (0x20A1, 0x20A1),
    (0x20A4, 0x20A4), (0x20A6, 0x20A6), (0x20A9, 0x20A9), (0x20AB, 0x20AC),
    (0x20B1, 0x20B1), (0x2103, 0x2103), (0x2113, 0x2113), (0x2116, 0x2118),
    (0x211E, 0x211E), (0x2120, 0x2120), (0x2122, 0x2122), (0x2127, 0x2127),
    (0x212E, 0x212E), (0x2135, 0x2135), (0x2190, 0x2199), (0x21A6, 0x21A6),
    (0x21A9, 0x21AA), (0x21BC, 0x21BD), (0x21C0, 0x21C1), (0x21CC, 0x21CC),
    (0x21D0, 0x21D5), (0x2200, 0x2200), (0x2202, 0x2203), (0x2207, 0x2209),
    (0x220B, 0x220C), (0x220F, 0x2211), (0x2213, 0x2213), (0x2218, 0x2219),
    (0x221D, 0x221E), (0x2220, 0x2220), (0x2225, 0x2225), (0x2227, 0x222B),
    (0x222E, 0x222E), (0x223C, 0x223C), (0x2240, 0x2241), (0x2243, 0x2245),
    (0x2247, 0x2249), (0x224D, 0x224D), (0x2250, 0x2250), (0x2260, 0x2262),
    (0x2264, 0x2265), (0x226A, 0x226B), (0x227A, 0x227D), (0x2282, 0x2287),
    (0x228E, 0x228E), (0x2291, 0x2299), (0x22A2, 0x22A5), (0x22C0, 0x22C3),
    (0x22C6, 0x22C6), (0x22C8, 0x22C8), (0x22E2, 0x22E3), (0x22EE, 0x22EF),
    (0x22F1, 0x22F1), (0x2308, 0x230B), (0x2322, 0x2323), (0x23B0, 0x23B1),
    (0x2422, 0x2423), (0x25B3, 0x25B3), (0x25B9, 0x25B9), (0x25BD, 0x25BD),
    (0x25C3, 0x25C3), (0x25E6, 0x25E6), (0x25EF, 0x25EF), (0x2662, 0x2662),
    (0x266A, 0x266A), (0x27E8, 0x27E9), (0x27F5, 0x27FA), (0x27FC, 0x27FC),
    (0x2A3F, 0x2A3F), (0x1D400, 0x1D454), (0x1D456, 0x1D467), (0x1D5A0, 0x1D5D3),
    (0x1D670, 0x1D6A3),
)

_ASCII_ESCAPES = {
    "\\": r"{\textbackslash}",
    "{": r"{\textbraceleft}",
    "}": r"{\textbraceright}",
    # In BibTeX's special-character form, so that styles that cut or abbreviate text
    # (alpha labels, abbrv initials) never separate the backslash from its character.
    "$": r"{\$}",
    "&": r"{\&}",
    "%": r"{\%}",
    "#": r"{\#}",
    "_": r"{\_}",
    "~": r"{\textasciitilde}",
    "^": r"{\textasciicircum}",
    "<": r"{\textless}",
    ">": r"{\textgreater}",
    "|": r"{\textbar}",
    # Braced so that a "]" in a name cannot end \bibitem's optional [label] argument.
    "[": "{[}",
    "]": "{]}",
}
# Pairs of characters that TeX (or the LaTeX->text reader) would merge.
_LIGATURE_PAIRS = {("-", "-"), ("`", "`"), ("'", "'"), ("?", "`"), ("!", "`"), (",", ",")}

# Math-mode macros that plain LaTeX (no packages) knows.
_MATH_MACROS = frozenset("""
alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu nu xi
pi varpi rho varrho sigma varsigma tau upsilon phi varphi chi psi omega Gamma Delta Theta
Lambda Xi Pi Sigma Upsilon Phi Psi Omega
mathrm mathbf mathit mathcal mathsf mathtt mathnormal textrm textbf textit texttt textsf
textup textnormal mbox
frac sqrt left right big Big bigg Bigg bigl bigr Bigl Bigr biggl biggr overline underline
hat tilde bar vec dot ddot breve check acute grave widehat widetilde overbrace underbrace
stackrel
sum prod int oint coprod bigcup bigcap bigoplus bigotimes bigvee bigwedge log ln lg exp sin
cos tan sinh cosh tanh arcsin arccos arctan lim limsup liminf sup inf max min arg det dim ker
Pr gcd deg hom bmod pmod
leq le geq ge neq ne approx sim simeq cong equiv propto in notin ni subset subseteq supset
supseteq ll gg prec succ preceq succeq mid parallel perp models vdash dashv asymp doteq
to rightarrow leftarrow Rightarrow Leftarrow leftrightarrow Leftrightarrow mapsto
longrightarrow longleftarrow Longrightarrow Longleftarrow longmapsto uparrow downarrow
Uparrow Downarrow gets iff hookrightarrow hookleftarrow
times cdot div pm mp ast star circ bullet oplus ominus otimes oslash odot cup cap setminus
wedge vee land lor neg lnot uplus sqcup sqcap diamond
infty partial nabla forall exists emptyset ell hbar Re Im aleph wp prime ldots cdots vdots
ddots dots top bot angle triangle backslash not colon surd flat sharp natural clubsuit
langle rangle lfloor rfloor lceil rceil lbrace rbrace vert Vert
quad qquad
""".split())
# Math macros that need a package; the @preamble provides a stand-in when they are unset.
_MATH_FALLBACKS = {
    "text": r"\providecommand{\text}[1]{\mbox{#1}}",
    "mathbb": r"\providecommand{\mathbb}[1]{\mathbf{#1}}",
    "mathscr": r"\providecommand{\mathscr}[1]{\mathcal{#1}}",
    "mathfrak": r"\providecommand{\mathfrak}[1]{\mathrm{#1}}",
    "boldsymbol": r"\providecommand{\boldsymbol}[1]{\mathbf{#1}}",
    "bm": r"\providecommand{\bm}[1]{\mathbf{#1}}",
    "operatorname": r"\providecommand{\operatorname}[1]{\mathrm{#1}}",
    "tfrac": r"\providecommand{\tfrac}{\frac}",
    "dfrac": r"\providecommand{\dfrac}{\frac}",
    "varnothing": r"\providecommand{\varnothing}{\emptyset}",
    "coloneqq": r"\providecommand{\coloneqq}{\mathrel{:=}}",
}
_MATH_SYMBOL_MACROS = frozenset(",;!: {}|_")

def _glyph_line(ch: str) -> str:
    """TeX that sets up one UTF-8 character the document has not set up.

    Parameter-free on purpose: the same text is run from the .bbl and written to the
    .aux, so that labels and names typeset by \\cite (alpha, natbib) work from the next
    run on.  Prints ``\\PapershelfMissingGlyph{<hex>}{<fallback>}`` when the document
    defines that macro, else the ASCII fallback.
    """
    hexcode = "%04X" % ord(ch)
    name = r"\csname u8:\detokenize{%s}\endcsname" % ch
    if ch in _T1_ONLY:
        latex, fallback = _T1_ONLY[ch]
    else:
        latex, fallback = None, _fallback_text(ch)
    missing = (r"\ifdefined\PapershelfMissingGlyph\PapershelfMissingGlyph{%s}{%s}\else %s\fi"
               % (hexcode, fallback, fallback))
    unset = r"\expandafter\ifx%s\relax\expandafter\gdef%s{%s}\fi" % (name, name, missing)
    if latex is None:
        return unset
    command = latex.split(" ")[0].split("{")[0]
    dispatch = (r"\ifcsname\csname cf@encoding\endcsname\string%s\endcsname %s\else"
                r"\ifcsname ?\string%s\endcsname %s\else %s\fi\fi" % (command, latex, command, latex, missing))
    # Replace the kernel's own definition (a T1-only command) by one that checks the
    # current font encoding; leave any other definition (the user's) alone.
    return (r"\def\PapershelfKernelGlyph{\IeC{%s}}\expandafter\ifx%s\PapershelfKernelGlyph"
            r"\expandafter\gdef%s{%s}\else %s\fi" % (latex, name, name, dispatch, unset))


# Characters the LaTeX kernel sets up only through T1-encoded commands: with the default
# OT1 encoding they would stop pdflatex with "Command \\th unavailable in encoding OT1".
# They stay UTF-8 in the file; the @preamble makes them print with the kernel's command
# where the current font encoding has it, and as the ASCII fallback otherwise.
_T1_ONLY = {
    "\u00ab": ("\\guillemetleft", "''"), "\u00bb": ("\\guillemetright", "''"),
    "\u00d0": ("\\DH", "D"), "\u00de": ("\\TH", "TH"), "\u00f0": ("\\dh", "d"),
    "\u00fe": ("\\th", "th"), "\u0104": ("\\k A", "A"), "\u0105": ("\\k a", "a"),
    "\u0110": ("\\DJ", "D"), "\u0111": ("\\dj", "d"), "\u0118": ("\\k E", "E"),
    "\u0119": ("\\k e", "e"), "\u012e": ("\\k I", "I"), "\u012f": ("\\k i", "i"),
    "\u014a": ("\\NG", "NG"), "\u014b": ("\\ng", "ng"), "\u0172": ("\\k U", "U"),
    "\u0173": ("\\k u", "u"), "\u01ea": ("\\k O", "O"), "\u01eb": ("\\k o", "o"),
    "\u02db": ("\\k{}", ","), "\u201a": ("\\quotesinglbase", ","),
    "\u201e": ("\\quotedblbase", ",,"), "\u2039": ("\\guilsinglleft", "'"),
    "\u203a": ("\\guilsinglright", "'"),
}



class _Needs:
    """What an export needs from its @preamble: raw characters and math fallbacks."""

    def __init__(self) -> None:
        self.glyphs: set[str] = set()
        self.math: set[str] = set()

    def preamble(self) -> str | None:
        if not self.glyphs and not self.math:
            return None
        parts = [PREAMBLE_MARK]  # always first: the importer recognises it
        parts += [_MATH_FALLBACKS[name] for name in sorted(self.math)]
        if self.glyphs:
            lines = " ".join(_glyph_line(ch) for ch in sorted(self.glyphs))
            parts.append(r"\gdef\PapershelfGlyphs{%s}\PapershelfGlyphs" % lines)
            parts.append(r"\expandafter\ifx\csname @auxout\endcsname\relax\else\immediate\write"
                         r"\csname @auxout\endcsname{\unexpanded\expandafter{\PapershelfGlyphs}}\fi")
        return "".join(parts)


def _fallback_text(ch: str) -> str:
    folded = "".join(c for c in citekeys.fold_ascii(ch) if c.isalnum())
    return folded or "?"


# ----------------------------------------------------------------------------- text
def _is_safe(cp: int) -> bool:
    lo, hi = 0, len(_SAFE_RANGES)
    while lo < hi:
        mid = (lo + hi) // 2
        a, b = _SAFE_RANGES[mid]
        if cp < a:
            hi = mid
        elif cp > b:
            lo = mid + 1
        else:
            return True
    return False


@functools.lru_cache(maxsize=4096)
def _latex_char(ch: str) -> str | None:
    """The LaTeX spelling of one non-ASCII character, or None to keep it as UTF-8."""
    if not _is_safe(ord(ch)):
        return None
    from pylatexenc.latexencode import unicode_to_latex

    latex = unicode_to_latex(ch, non_ascii_only=True, replacement_latex_protection="braces",
                             unknown_char_policy="keep", unknown_char_warning=False)
    if latex == ch or not latex.isascii():
        return None
    if not (latex.startswith("{\\") and _one_group(latex)):
        latex = "{" + latex + "}"
    from .bibtex_import import latex_to_unicode  # the exact inverse is the judge

    if latex_to_unicode(latex) != ch:
        return None
    return latex


def _one_group(text: str) -> bool:
    depth = 0
    for i, ch in enumerate(text):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0 and i != len(text) - 1:
                return False
    return depth == 0


_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1b\x7f]")  # Cc that str.isspace() rejects


def _clean(text: str) -> str:
    """NFC, control and format characters dropped, whitespace collapsed."""
    text = str(text)
    if text.isascii():
        # The same result as below, without a Python-level loop over every character.
        return " ".join(_ASCII_CONTROL.sub("", text).split())
    text = unicodedata.normalize("NFC", text)
    text = "".join(
        " " if ch.isspace() else ch
        for ch in text
        if ch.isspace() or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn")
    )
    return " ".join(text.split())


def _math_ok(body: str, needs: _Needs | None) -> bool:
    if not body or body != body.strip() or not body.isascii():
        return False
    if any(c in body for c in "%#&$\n") or not body.isprintable():
        return False
    depth = 0
    for ch in body:
        depth += ch == "{"
        depth -= ch == "}"
        if depth < 0:
            return False
    if depth:
        return False
    fallbacks = set()
    for match in re.finditer(r"\\([A-Za-z]+|.?)", body):
        name = match.group(1)
        if name in _MATH_MACROS or (len(name) == 1 and name in _MATH_SYMBOL_MACROS):
            continue
        if name in _MATH_FALLBACKS:
            fallbacks.add(name)
            continue
        return False
    if not _math_structure_ok(body):
        return False
    if needs is not None:
        needs.math |= fallbacks
    return True


_ONE_ARG = frozenset("""
mathrm mathbf mathit mathcal mathsf mathtt mathnormal textrm textbf textit texttt textsf textup
textnormal mbox hat tilde bar vec dot ddot breve check acute grave widehat widetilde overline
underline overbrace underbrace sqrt text mathbb mathscr mathfrak boldsymbol bm operatorname not
""".split())
_TWO_ARGS = frozenset({"frac", "dfrac", "tfrac", "stackrel"})
_SIZED = frozenset({"left", "right", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr",
                    "biggl", "biggr"})
_DELIMITERS = frozenset(["(", ")", "[", "]", "|", ".", "/", "<", ">", "\\{", "\\}", "\\|",
                         "\\langle", "\\rangle", "\\lfloor", "\\rfloor", "\\lceil", "\\rceil",
                         "\\vert", "\\Vert", "\\backslash", "\\lbrace", "\\rbrace",
                         "\\uparrow", "\\downarrow"])


def _math_structure_ok(body: str) -> bool:
    """Catch the TeX math errors a title can carry: missing arguments, double
    super/subscripts, unpaired \\left/\\right, sized delimiters without a delimiter."""
    toks = [t for t in re.findall(r"\\[A-Za-z]+|\\.|\s+|.", body) if not t.isspace()]

    def arg(i: int) -> int:
        if i >= len(toks):
            return -1
        t = toks[i]
        if t == "{":
            return group(i + 1, True)
        if t in ("}", "^", "_", "'"):
            return -1
        if t.startswith("\\") and (t[1:] in _ONE_ARG or t[1:] in _TWO_ARGS or t[1:] in _SIZED):
            return -1
        return i + 1

    def group(i: int, closing: bool) -> int:
        sup = sub = False
        lefts = 0
        while i < len(toks):
            t = toks[i]
            if t == "}":
                return i + 1 if closing and lefts == 0 else -1
            if t in ("^", "_"):
                if (sup if t == "^" else sub):
                    return -1
                i = arg(i + 1)
                if i < 0:
                    return -1
                if t == "^":
                    sup = True
                else:
                    sub = True
                continue
            if t == "'":
                if sup:
                    return -1
                i += 1
                continue
            sup = sub = False
            if t == "{":
                i = group(i + 1, True)
                if i < 0:
                    return -1
                continue
            if t.startswith("\\"):
                name = t[1:]
                i += 1
                if name in _SIZED:
                    if i >= len(toks) or toks[i] not in _DELIMITERS:
                        return -1
                    i += 1
                    if name == "left":
                        lefts += 1
                    elif name == "right":
                        lefts -= 1
                        if lefts < 0:
                            return -1
                    continue
                if name == "sqrt" and i < len(toks) and toks[i] == "[":
                    while i < len(toks) and toks[i] != "]":
                        if toks[i] in ("{", "}"):
                            return -1
                        i += 1
                    i += 1
                for _ in range(2 if name in _TWO_ARGS else 1 if name in _ONE_ARG else 0):
                    i = arg(i)
                    if i < 0:
                        return -1
                continue
            i += 1
        return -1 if closing or lefts else i

    return group(0, False) == len(toks)


# A bare superscript/subscript: "^2", "^{2}", "_{i}".  Not followed by a digit (a math
# span must not end right before one) nor, for one-character arguments, by a letter.
_SCRIPT_RE = re.compile(
    r"(?<![\^_\\$])([\^_])(\{[^{}$\\%#&^_]*\}(?![\^_$0-9])|[A-Za-z0-9](?![\^_$A-Za-z0-9]))")


def _segments(text: str, needs: _Needs | None) -> list[tuple[str, str]]:
    """Split into ("math", "$...$") and ("text", ...) pieces; bare ``x^2`` -> math."""
    if "$" not in text:
        return _script_segments(text, needs, after_math=False, before_math=False) if text else []
    out: list[tuple[str, str]] = []
    buf: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "$":
            # The next "$" decides: a valid span is math, otherwise this "$" is text.
            j = text.find("$", i + 1)
            if j != -1:
                closing_ok = not (j + 1 < n and text[j + 1] in "0123456789")
                if not (closing_ok and _math_ok(text[i + 1:j], needs)):
                    j = -1
            if j != -1:
                if buf:
                    out.extend(_script_segments("".join(buf), needs, after_math=bool(out),
                                                before_math=True))
                    buf = []
                out.append(("math", text[i:j + 1]))
                i = j + 1
                continue
        buf.append(ch)
        i += 1
    if buf:
        out.extend(_script_segments("".join(buf), needs, after_math=bool(out), before_math=False))
    return out


def _script_segments(text: str, needs: _Needs | None, *, after_math: bool,
                     before_math: bool) -> list[tuple[str, str]]:
    """Bare ``x^2`` / ``x_{i}`` in a text piece -> math (never right next to other math)."""
    out: list[tuple[str, str]] = []
    pos = 0
    for match in _SCRIPT_RE.finditer(text):
        op, arg = match.group(1), match.group(2)
        if (after_math and match.start() == 0) or (before_math and match.end() == len(text)):
            continue
        if op == "_" and not arg.startswith("{"):
            continue  # snake_case stays text
        if arg in ("{}",) or not _math_ok(op + arg, needs):
            continue
        if match.start() > pos:
            out.append(("text", text[pos:match.start()]))
        out.append(("math", "$" + op + arg + "$"))
        pos = match.end()
    if pos < len(text):
        out.append(("text", text[pos:]))
    return out


# In names, also hide parentheses: natbib splits its \bibitem[label] at "(".
_NAME_ESCAPES = {**_ASCII_ESCAPES, "(": "{(}", ")": "{)}"}


_LIGATURE_SPOTS = re.compile("|".join(
    f"(?<={re.escape(a)})(?={re.escape(b)})" for a, b in sorted(_LIGATURE_PAIRS)))
_LIGATURE_MARK = "\x00"
_TRANSLATIONS: dict[int, dict[int, str]] = {}


def _translation(table: dict[str, str]) -> dict[int, str]:
    key = id(table)
    if key not in _TRANSLATIONS:
        _TRANSLATIONS[key] = {**str.maketrans(table), ord(_LIGATURE_MARK): "{}"}
    return _TRANSLATIONS[key]


def _escape(text: str, needs: _Needs | None, ligatures: bool = True,
            table: dict[str, str] = _ASCII_ESCAPES) -> str:
    """Escape one run of plain text (no math)."""
    if text.isascii() and _LIGATURE_MARK not in text:
        # Most text: one regex pass marks ligature spots, one translate escapes.
        if ligatures:
            text = _LIGATURE_SPOTS.sub(_LIGATURE_MARK, text)
        return text.translate(_translation(table))
    out: list[str] = []
    raw: list[str] = []
    prev = ""

    def flush_raw() -> None:
        if raw:
            out.append("{\\relax " + "".join(raw) + "}")
            raw.clear()

    for ch in text:
        if ord(ch) < 128:
            flush_raw()
            if ligatures and (prev, ch) in _LIGATURE_PAIRS:
                out.append("{}")
            out.append(table.get(ch, ch))
        else:
            latex = _latex_char(ch)
            if latex is None:
                raw.append(ch)
                if needs is not None:
                    needs.glyphs.add(ch)
            else:
                flush_raw()
                out.append(latex)
        prev = ch
    flush_raw()
    return "".join(out)


def _encode(text: str, needs: _Needs | None) -> str:
    return "".join(seg if kind == "math" else _escape(seg, needs)
                   for kind, seg in _segments(text, needs))


def latex_text(text: str | None, needs: _Needs | None = None, *, math: bool = True) -> str:
    """Plain (Unicode) text -> a BibTeX field value (without the outer braces).

    ``math=False`` (names, which end up in labels) escapes ``$ ^ _`` as text too and
    braces parentheses."""
    if not text:
        return ""
    if not math:
        return _escape(_clean(text), needs, table=_NAME_ESCAPES)
    return _encode(_clean(text), needs)


# ----------------------------------------------------------------------------- titles
_SMALL_WORDS = frozenset(
    "a an the and but or nor for so yet at by in of off on onto per to up as via vs with "
    "from into over than upon down out is are be".split())


def _word_char(ch: str) -> bool:
    return ch.isalnum() or unicodedata.category(ch).startswith("M")


def _runs(word: str) -> list[tuple[bool, str]]:
    """Split a word into (is_alnum_run, text) pieces."""
    out: list[tuple[bool, str]] = []
    for ch in word:
        kind = _word_char(ch)
        if out and out[-1][0] == kind:
            out[-1] = (kind, out[-1][1] + ch)
        else:
            out.append((kind, ch))
    return out


def _title_words(segments: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """Group segments into space-separated words (a math span never splits)."""
    words: list[list[tuple[str, str]]] = [[]]
    for kind, seg in segments:
        if kind == "math":
            words[-1].append((kind, seg))
            continue
        parts = seg.split(" ")
        for k, part in enumerate(parts):
            if k > 0:
                words.append([])
            if part:
                words[-1].append(("text", part))
    return [w for w in words if w]


def _is_title_case(words: list[list[tuple[str, str]]]) -> bool:
    capital = total = 0
    initial = True
    for word in words:
        for kind, seg in word:
            if kind == "math":
                initial = False
                continue
            for is_alnum, run in _runs(seg):
                if not is_alnum:
                    continue
                if initial:
                    initial = False
                    continue
                if not run.isalpha() or len(run) < 3 or run.lower() in _SMALL_WORDS:
                    continue
                if any(c.isupper() for c in run[1:]) or not (run[0].isupper() or run[0].islower()):
                    continue
                total += 1
                capital += run[0].isupper()
        # BibTeX keeps the first letter after a colon and a space.
        initial = word[-1][0] == "text" and word[-1][1].endswith(":")
    return total == 0 or capital * 2 >= total


def _protect_run(run: str, initial: bool, title_case: bool) -> bool:
    letters = [c for c in run if c.isalpha()]
    if not any(c.isupper() for c in letters):
        return False
    if any(c.isupper() for c in run[1:]):
        return True
    if any(c.isdigit() for c in run):
        return True
    if initial:
        return False
    if len(letters) == 1 and len(run) == 1:
        return not (title_case and run == "A")
    return not title_case


def latex_title(text: str | None, needs: _Needs | None = None) -> str:
    """A title -> BibTeX value with words that must keep their capitals brace-protected."""
    if not text:
        return ""
    segments = _segments(_clean(text), needs)
    words = _title_words(segments)
    title_case = _is_title_case(words)
    out_words: list[str] = []
    initial = True
    for word in words:
        if any(kind == "math" for kind, _ in word):
            body = "".join(seg if kind == "math" else _escape(seg, needs) for kind, seg in word)
            out_words.append("{" + body + "}")
            initial = word[-1][0] == "text" and word[-1][1].endswith(":")
            continue
        pieces: list[str] = []
        for _, seg in word:
            for is_alnum, run in _runs(seg):
                if not is_alnum:
                    pieces.append(_escape(run, needs))
                    continue
                body = _escape(run, needs)
                if _protect_run(run, initial, title_case):
                    body = "{" + body + "}"
                pieces.append(body)
                initial = False
        out_words.append("".join(pieces))
        initial = word[-1][1].endswith(":")
    return " ".join(out_words)


# ----------------------------------------------------------------------------- names
def latex_name(name: str, needs: _Needs | None = None) -> str | None:
    """A display name ("Ludwig van Beethoven") -> BibTeX "van Beethoven, Ludwig".

    A name BibTeX would misread (an "and" inside, more than two commas, a part made of
    hyphens only, "others") is written whole in braces, which BibTeX takes as a last name.
    """
    name = _clean(name)
    if not name:
        return None

    def whole() -> str:
        return "{" + latex_text(name, needs, math=False) + "}"

    words = name.split(" ")
    if any(w.lower() == "and" for w in words) or name.lower() == "others" or name.count(",") > 2:
        return whole()
    if "," in name:
        parts = [part.strip() for part in name.split(",") if part.strip()]
        if len(parts) >= 2:  # already "Last, First" (or "Last, Jr, First")
            if not all(_name_word(part) for part in parts):
                return whole()
            return ", ".join(latex_text(part, needs, math=False) for part in parts)
        if not parts:  # only commas: kept whole, not dropped from the author list
            return whole()
        name = parts[0]
    first, von, last, jr = citekeys.split_name(name)
    pieces = [" ".join(von + last)] + ([" ".join(jr)] if jr else []) + ([" ".join(first)] if first or jr else [])
    if not all(_name_word(piece) for piece in pieces):
        return whole()
    return ", ".join(latex_text(piece, needs, math=False) for piece in pieces)


def _name_word(text: str) -> bool:
    """BibTeX separates name tokens at spaces, "~" and "-": a part needs something else."""
    return any(ch not in " -~" for ch in text)


def latex_names(names: Iterable[str], others: bool = False, needs: _Needs | None = None) -> str:
    parts = [p for p in (latex_name(n, needs) for n in names if isinstance(n, str)) if p]
    if others and parts:
        parts.append("others")
    return " and ".join(parts)


# ----------------------------------------------------------------------------- fields
def _month(paper: dict) -> int | None:
    month = paper.get("month")
    if month not in (None, ""):
        value = str(month).strip().lower().rstrip(".")
        if value.isdigit() and 1 <= int(value) <= 12:
            return int(value)
        if value in _MONTH_NAMES:
            return _MONTH_NAMES[value]
        return None
    if paper.get("year") not in (None, ""):
        published = str(paper.get("published") or "")
        if not published.startswith(str(paper.get("year"))):
            return None
    match = re.match(r"\d{4}-(\d{2})", str(paper.get("published") or ""))
    if match and 1 <= int(match.group(1)) <= 12:
        return int(match.group(1))
    return None


def _year(paper: dict) -> str | None:
    year = paper.get("year")
    if year not in (None, ""):
        return str(year).strip()
    extra = (paper.get("bib_extra") or {}).get("year")
    if extra:
        return str(extra)
    match = re.match(r"(\d{4})", str(paper.get("published") or ""))
    return match.group(1) if match else None


_URL_BAD = re.compile(r"[\s{}\\\"]")


def _verbatim(value: object) -> str | None:
    """URL-like values go out raw (biblatex reads them verbatim); only characters that
    would break the .bib syntax are percent-encoded."""
    if value in (None, ""):
        return None
    text = str(value).strip()
    return _URL_BAD.sub(lambda m: "%{:02X}".format(ord(m.group())), text) or None


def _doi(value: object) -> str | None:
    if not value:
        return None
    text = re.sub(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", "", str(value).strip(), flags=re.I)
    return _verbatim(text)


def _plain(value: object, needs: _Needs | None) -> str | None:
    if value in (None, ""):
        return None
    text = latex_text(str(value), needs)
    return text or None


def _tag_list(tags: Iterable[str], needs: _Needs | None) -> str | None:
    items = []
    seen: set[str] = set()
    for tag in tags or []:
        ident = _clean(str(tag)).casefold()
        if not ident or ident in seen:
            continue  # the importer drops repeats the same way
        seen.add(ident)
        # As text (math=False): a tag is a name, so "C^2" must not come back as "C$^2$".
        items.append(latex_text(str(tag), needs, math=False).replace(",", "{,}").replace(";", "{;}"))
    return ", ".join(items) or None


def _arxiv_primary(paper: dict) -> str | None:
    if paper.get("primary_class"):
        return str(paper["primary_class"])
    match = re.match(r"^([a-z\-]+(?:\.[A-Z]{2})?)/\d{7}$", str(paper.get("arxiv_id") or ""))
    return match.group(1) if match else None


_TYPE_RE = re.compile(r"[A-Za-z]+")


def _fields(paper: dict, needs: _Needs | None, *, abstract: bool, keywords: bool,
            aliases: list[str]) -> list[tuple[str, str, bool]]:
    """(name, value, braced) in output order; braced=False for month macros."""
    fields: list[tuple[str, str, bool]] = []

    def add(name: str, value: str | None, braced: bool = True) -> None:
        if value:
            fields.append((name, value, braced))

    extra = dict(paper.get("bib_extra") or {})
    entry_type = _entry_type(paper)
    add("title", latex_title(paper.get("title"), needs))
    authors = [a for a in (paper.get("authors") or []) if isinstance(a, str) and a.strip()]
    add("author", latex_names(authors, others=_authors_truncated(paper, authors), needs=needs))
    if extra.get("editor"):
        add("editor", latex_text(extra.pop("editor"), needs))
    journal = paper.get("journal")
    booktitle = paper.get("booktitle")
    venue = paper.get("venue")
    if venue and not journal and not booktitle:
        if entry_type == "article":
            journal = venue
        elif entry_type in ("inproceedings", "incollection", "conference", "inbook"):
            booktitle = venue
    add("journal", _plain(journal, needs))
    add("booktitle", _plain(booktitle, needs))
    for name in ("series", "edition", "chapter"):
        add(name, _plain(extra.pop(name, None), needs))
    add("volume", _plain(paper.get("volume"), needs))
    add("number", _plain(paper.get("number"), needs))
    add("pages", _pages(paper.get("pages"), needs))
    add("publisher", _plain(paper.get("publisher"), needs))
    for name in ("organization", "institution", "school", "address", "howpublished", "type"):
        add(name, _plain(extra.pop(name, None), needs))
    add("year", _plain(_year(paper), needs))
    extra.pop("year", None)
    month = _month(paper)
    if month:
        add("month", MONTH_MACROS[month - 1], braced=False)
    if paper.get("arxiv_id"):
        add("eprint", _verbatim(paper["arxiv_id"]))
        add("archivePrefix", "arXiv")
        add("primaryClass", _verbatim(_arxiv_primary(paper)))
    url = paper.get("url") or extra.pop("url", None)
    if not url and paper.get("arxiv_id"):
        url = ARXIV_ABS_URL.format(paper["arxiv_id"])
    extra.pop("url", None)
    add("url", _verbatim(url))
    add("doi", _doi(paper.get("doi")))
    for name in ("isbn", "issn"):
        add(name, _verbatim(extra.pop(name, None)))
    if abstract:
        add("abstract", _plain(paper.get("abstract"), needs))
    if keywords:
        add("keywords", _tag_list(paper.get("tags") or [], needs))
    add("note", _plain(extra.pop("note", None), needs))
    for name in sorted(extra):  # anything else an import kept
        if re.fullmatch(r"[a-z][a-z0-9_\-]*", name) and name not in {f[0].lower() for f in fields}:
            add(name, _plain(extra[name], needs))
    if aliases:
        add("ids", ", ".join(aliases))
    return fields


def _pages(value: object, needs: _Needs | None) -> str | None:
    """Pages keep their "--" (the importer reads dashes in pages verbatim too)."""
    if value in (None, ""):
        return None
    return _escape(_clean(str(value)), needs, ligatures=False) or None


def _authors_truncated(paper: dict, authors: list[str]) -> bool:
    if paper.get("authors_others"):
        return True
    count = paper.get("authors_count")
    return bool(authors) and isinstance(count, int) and count > len(authors)


def _entry_type(paper: dict) -> str:
    kind = str(paper.get("entry_type") or "misc").strip().lower()
    return kind if _TYPE_RE.fullmatch(kind) else "misc"


def _field_lines(fields: list[tuple[str, str, bool]]) -> str:
    return ",\n".join(f"  {name} = {{{value}}}" if braced else f"  {name} = {value}"
                      for name, value, braced in fields)


def _assemble(entry_type: str, key: str, lines: str, aliases: list[str]) -> str:
    if aliases:
        ids = _field_lines([("ids", ", ".join(aliases), True)])
        lines = f"{lines},\n{ids}" if lines else ids
    return f"@{entry_type}{{{key},\n{lines}\n}}\n" if lines else f"@{entry_type}{{{key},\n}}\n"


class Rendering(NamedTuple):
    """What an entry's text needs of the paper alone: everything but its key and ``ids``.

    Rendering is most of an export's cost, and the same for a paper until it changes, so
    a library may keep renderings (see :mod:`papershelf.render_cache`). A named tuple: an
    export of a large library makes tens of thousands, and these cost least to make."""
    entry_type: str
    lines: str                  # the field lines, joined, without the ids field
    glyphs: frozenset[str]      # characters kept as UTF-8 (for the @preamble)
    math: frozenset[str]        # math fallbacks the @preamble must define
    missing: tuple[tuple[str, str], ...] = ()   # what the entry lacks (see _missing)


def render(paper: dict, *, abstract: bool = True, keywords: bool = True) -> Rendering:
    needs = _Needs()
    fields = _fields(paper, needs, abstract=abstract, keywords=keywords, aliases=[])
    return Rendering(_entry_type(paper), _field_lines(fields), frozenset(needs.glyphs),
                     frozenset(needs.math), tuple(_missing(paper)))


def _usable_export_key(key: object) -> bool:
    return citekeys.is_usable_key(key)


def entry(paper: dict, key: str | None = None, *, abstract: bool = True,
          keywords: bool = True, _needs: _Needs | None = None,
          _aliases: list[str] | None = None) -> str:
    """One BibTeX entry for ``paper`` (with a trailing newline).

    ``key`` defaults to ``paper["citation_key"]``, or the default pattern when the
    paper has none yet.  Characters kept as UTF-8 need the @preamble that ``export``
    writes; a lone entry compiles under pdflatex only where the document sets them up.
    """
    key = key or paper.get("citation_key")
    if not _usable_export_key(key):
        key = citekeys.make_key(paper, set())
    aliases = _aliases
    if aliases is None:
        aliases = [a for a in (paper.get("key_aliases") or [])
                   if _usable_export_key(a) and a.lower() != key.lower()]
    rendering = render(paper, abstract=abstract, keywords=keywords)
    if _needs is not None:
        _needs.glyphs |= rendering.glyphs
        _needs.math |= rendering.math
    return _assemble(rendering.entry_type, key, rendering.lines, aliases)


def export(papers: Iterable[dict], *, abstract: bool = True, keywords: bool = True,
           taken: Iterable[str] | None = None,
           renderer: Callable[..., Rendering] = render,
           pieces: bool = False,
           fetch: Callable[[Any], tuple[str, str]] | None = None,
           ) -> tuple[str | Iterator[str], dict]:
    """A whole .bib file for ``papers`` and a report.

    Returns ``(text, report)``; ``report`` is::

        {"entries": n,
         "incomplete": [{"id", "key", "title", "missing": [...], "message"}],
         "assigned_keys": {id: key},     # papers that had no usable key: store these
         "renamed_keys": [{"id", "from", "to"}],   # clashing keys inside this export
         "dropped_aliases": [{"id", "alias"}],     # alias equal to another entry's key
         "raw_characters": "中文..."}    # kept as UTF-8 (see the module docstring)

    ``taken`` (every key and alias in the library) keeps keys made here for papers
    without one from clashing with papers outside this export. ``renderer`` is
    :func:`render` or a cache in front of it (same arguments, same result); a cache may
    give, instead of a Rendering, a stand-in with its ``glyphs``, ``math`` and
    ``missing`` (all the @preamble and the report need), whose ``(entry_type, lines)``
    ``fetch(stand_in)`` gives when its entry is made.

    With ``pieces`` the text comes as an iterator of pieces that joined by newlines make
    it: the @preamble (if any), then one entry per piece, each made only when it is
    reached. A large library's file (~100 MB) is then sent without ever being held whole,
    each entry's text read from the cache as it goes. The report is complete at once.
    ``papers`` is best given as an iterator then: each paper is let go once planned.
    """
    papers = list(papers)
    needs = _Needs()
    report: dict = {"entries": 0, "incomplete": [], "assigned_keys": {}, "renamed_keys": [],
                    "dropped_aliases": [], "raw_characters": ""}
    usable = [_usable_export_key(p.get("citation_key")) for p in papers]
    keys: list[str] | None = None  # each paper's key in this export, if not its own
    keys_lower = {_lowered(p["citation_key"]) for p in papers} if all(usable) else set()
    if all(usable) and len(keys_lower) == len(papers):
        # Every paper has its own key (the usual case): there is nothing to decide, and no
        # two keys are equal in lower case, so that alone gives the order.
        papers.sort(key=_lowered_key)
    else:
        keyed: list[tuple[str, dict]] = []
        used: set[str] = set(taken or ())
        for p, has_key in zip(papers, usable):
            if has_key:
                used.add(p["citation_key"])
            used.update(a for a in (p.get("key_aliases") or []) if isinstance(a, str))
        seen: set[str] = set()
        # Stable order for key decisions: papers with keys first (by key, then id).
        order = sorted(range(len(papers)), key=lambda i: _order_key(papers[i], i, usable[i]))
        for i in order:
            paper = papers[i]
            key = paper.get("citation_key")
            if not usable[i]:
                key = citekeys.make_key(paper, used | seen)
                if paper.get("id") is not None:
                    report["assigned_keys"][paper["id"]] = key
            elif key.lower() in seen:
                new = citekeys.unique_key(key, used | seen)
                report["renamed_keys"].append({"id": paper.get("id"), "from": key, "to": new})
                key = new
            seen.add(key.lower())
            used.add(key)
            keyed.append((key, paper))
        keys_lower = {k.lower() for k, _ in keyed}
        keyed.sort(key=lambda kp: (kp[0].lower(), kp[0], str(kp[1].get("id"))))
        keys = [key for key, _ in keyed]
        papers = [paper for _, paper in keyed]
        del keyed
    del usable

    # The sorted papers become, in place, all an entry needs but its text: key, ids and
    # the rendering (or a stand-in for it). Each paper is let go once planned.
    planned: list = papers
    alias_seen: set[str] = set()
    for index, paper in enumerate(papers):
        key = paper["citation_key"] if keys is None else keys[index]
        aliases = []
        for alias in paper.get("key_aliases") or []:
            if not _usable_export_key(alias) or alias.lower() == key.lower():
                continue
            if alias.lower() in keys_lower or alias.lower() in alias_seen:
                report["dropped_aliases"].append({"id": paper.get("id"), "alias": alias})
                continue
            alias_seen.add(alias.lower())
            aliases.append(alias)
        rendering = renderer(paper, abstract=abstract, keywords=keywords)
        if rendering.glyphs:
            needs.glyphs |= rendering.glyphs
        if rendering.math:
            needs.math |= rendering.math
        planned[index] = (key, aliases or (), rendering)
        missing = rendering.missing
        if missing:
            report["incomplete"].append({
                "id": paper.get("id"), "key": key, "title": paper.get("title"),
                "missing": [m for m, _ in missing],
                "message": "; ".join(msg for _, msg in missing)})
    report["entries"] = len(planned)
    report["raw_characters"] = "".join(sorted(needs.glyphs))
    preamble = needs.preamble()
    head = f'@preamble{{ "{preamble}" }}\n' if preamble else None
    entries = _entries(head, planned, fetch)
    if pieces:
        return entries, report
    return "\n".join(entries), report


def _lowered(key: str) -> str:
    lowered = key.lower()
    # Keys are mostly lower case already: then the key itself, not a second copy of it.
    return key if lowered == key else lowered


def _lowered_key(paper: dict) -> str:
    return _lowered(paper["citation_key"])


def _entries(head: str | None, planned: list[tuple[str, list[str] | tuple[()], Any]],
             fetch: Callable[[Any], tuple[str, str]] | None) -> Iterator[str]:
    if head is not None:
        yield head
    for key, aliases, rendering in planned:
        if isinstance(rendering, Rendering):
            yield _assemble(rendering.entry_type, key, rendering.lines, aliases)
        else:
            entry_type, lines = fetch(rendering)
            yield _assemble(entry_type, key, lines, aliases)


def _order_key(paper: dict, index: int, has: bool) -> tuple:
    key = paper.get("citation_key")
    pid = paper.get("id")
    return (0 if has else 1, key.lower() if has else "", pid if isinstance(pid, int) else 0, index)


def _missing(paper: dict) -> list[tuple[str, str]]:
    out = []
    authors = [a for a in (paper.get("authors") or []) if isinstance(a, str) and a.strip()]
    count = paper.get("authors_count")
    if not authors:
        if isinstance(count, int) and count > 0:
            out.append(("authors", f"authors unknown (the listing showed only a count: {count})"))
        else:
            out.append(("authors", "no authors"))
    elif isinstance(count, int) and count > len(authors):
        out.append(("authors", f"{len(authors)} of {count} authors known (exported with 'and others')"))
    elif paper.get("authors_others"):
        out.append(("authors", "author list ends with 'and others'"))
    if not (paper.get("title") or "").strip():
        out.append(("title", "no title"))
    if not _year(paper):
        out.append(("year", "no year"))
    return out


def write_atomic(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically (temp file in the same folder, fsync,
    rename), for auto-export: a LaTeX run never sees a half-written file."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".papershelf-", suffix=".bib.tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
