"""Showing attacker-controlled text safely.

User agents, user names, subjects and display names are chosen by the attacker. Before any of
it reaches a terminal it loses control characters (ANSI escape sequences could rewrite the
screen or hide lines) and rich markup is escaped (``[link=…]`` must print as text).
"""

from __future__ import annotations

import re

from rich.markup import escape

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def printable(value: object, limit: int = 300) -> str:
    """Plain text with control and bidi-override characters replaced, cut to ``limit``."""
    text = _CONTROL.sub("\N{REPLACEMENT CHARACTER}", str(value))
    text = text.replace("\n", " ").replace("\t", " ")
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def for_terminal(value: object, limit: int = 300) -> str:
    """``printable`` and safe to hand to rich (markup escaped)."""
    return escape(printable(value, limit))
