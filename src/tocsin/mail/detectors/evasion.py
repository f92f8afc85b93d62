"""Text written for the filter, not the reader: the message hides what it says.

Honest mail has no reason to do any of this; phishing does it to get past keyword filters
and duplicate detection. Each is a technical fact about the message, not a judgement of its
words, so it is scored apart from the lures (and not under their cap). Weights, and why:

* obfuscated text 0.35 — words mixing Latin with Cyrillic or Greek letters (``Раypal``),
  "mathematical" styled letters, invisible characters (soft hyphens, zero-width spaces,
  variation selectors) inside words, or combining marks of another script stuck to Latin
  letters (``amzn`` written ``aܿmܿzܿn``), styled letters in a link. A Greek or Russian message
  is not mixed: only words where the scripts touch count;
* text hidden from the reader (500+ characters in hidden elements) 0.25 — "hash busting"
  text meant for filters (a newsletter's hidden preheader is a line, far shorter);
* pictures and links with almost no text (under 200 characters of HTML text) 0.2 — the lure is
  drawn in images, where text filters cannot read it. Image-heavy marketing still carries
  its postal address and unsubscribe text, which is why the bar is this low.
"""

from __future__ import annotations

import re
import unicodedata

from tocsin.mail.model import Reason, View

NAME = "evasion"
MAX_TEXT = 8_000  # body characters searched, as for lures: the lure's own words come first

_INVISIBLE_IN_WORD = re.compile(
    r"\w[\u00ad\u034f\u200b\u200c\u200d\u2060\ufeff\U000e0000-\U000e01ef]+\w"
)
# Letters of other alphabets that look Latin (Greek, Cyrillic, Armenian, Cherokee, Tai Le,
# Latin small capitals, fullwidth) touching Latin ones, and styled "mathematical" letters.
_LOOKALIKE_LETTERS = (
    "\u0370-\u03ff\u0400-\u052f\u0531-\u058f\u13a0-\u13ff\u1950-\u197f\u1d00-\u1d2b"
    "\u2c00-\u2c7f\ua640-\ua69f\uff21-\uff5a"
)
_MIXED = re.compile(
    rf"[A-Za-z][{_LOOKALIKE_LETTERS}]|[{_LOOKALIKE_LETTERS}][A-Za-z]"
    r"|[\U0001D400-\U0001D7FF\u24b6-\u24e9]|[\u1d00-\u1d2b\u0299\u029c\u026a\u0280]{3,}"
)
# A combining mark right after an ASCII letter, dot or digit that is not one of the Latin
# diacritics (U+0300–U+036F, which precomposed or decomposed accents use).
_FOREIGN_MARK = re.compile(
    r"[A-Za-z0-9.@]([\u0483-\u0489\u0591-\u05c7\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed"
    r"\u0711\u0730-\u074a\u07a6-\u07b0\u0900-\u0903\u093a-\u094f\u0e31-\u0e3a\u0e47-\u0e4e"
    r"\u20d0-\u20ff\ufe20-\ufe2f])"
)


def mixed_script_words(text: str, limit: int = 5) -> list[str]:
    """Words where Latin letters touch look-alike letters of another script, or marks."""
    if text.isascii():
        return []
    found: list[str] = []
    for pattern in (_MIXED, _FOREIGN_MARK):
        for match in pattern.finditer(text):
            start = text.rfind(" ", 0, match.start()) + 1
            end = text.find(" ", match.end())
            word = text[start : end if end >= 0 else len(text)]
            if word not in found:
                found.append(word)
            if len(found) >= limit:
                return found
    return found


def readable(text: str) -> str:
    """``text`` without the marks and invisible characters inserted to break words."""
    if text.isascii():
        return text
    kept = (c for c in text if unicodedata.category(c) not in ("Mn", "Cf"))
    return "".join(kept)


def detect(view: View) -> list[Reason]:
    parsed = view.parsed
    head = f"{parsed.subject} \n {parsed.from_raw}"
    body = view.text[:MAX_TEXT]
    reasons: list[Reason] = []
    mixed = mixed_script_words(head) or mixed_script_words(body)
    if not mixed:  # styled letters in a link's host (``𝟜.example.nl``) or path
        for link in view.links[:100]:
            if not link.url.url.isascii() and _MIXED.search(link.url.url):
                mixed = [link.url.url[:40]]
                break
    hidden = _INVISIBLE_IN_WORD.findall(body) if not body.isascii() else []
    if mixed or len(hidden) >= 3 or (not head.isascii() and _INVISIBLE_IN_WORD.search(head)):
        sample = ", ".join(w[:30] for w in mixed[:3]) if mixed else f"{len(hidden)} words"
        what = "look-alike letters or marks" if mixed else "invisible characters inside words"
        reasons.append(
            Reason(
                NAME, "obfuscated_text", 0.35, f"text written to evade filters: {what} ({sample})"
            )
        )
    hidden_text = sum(content.hidden_text for content in view.html)
    if hidden_text >= 500:
        reasons.append(
            Reason(
                NAME,
                "hidden_text",
                0.25,
                f"{hidden_text:,} characters of text are hidden from the reader (filter poisoning)",
            )
        )
    if view.html and view.images and view.links and len(view.text.strip()) < 200:
        reasons.append(
            Reason(
                NAME,
                "image_only",
                0.2,
                f"the message is pictures and links with {len(view.text.strip())} characters "
                "of text: the lure is in images, where text filters cannot read it",
            )
        )
    return reasons
