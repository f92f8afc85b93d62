"""The message's structure: what the parser had to give up on.

A message that needs more than ``MAX_PARTS`` parts, ``MAX_DEPTH`` levels of nesting or
megabyte-long header fields has no reason to exist except to exhaust or slip past scanners
(MIME bombs); the parts beyond the limits were not analysed, so the message cannot be called
clean: 0.5, enough for "suspicious" on its own. A decoding defect (broken base64, a missing
boundary) is common in sloppy but honest software: 0.05, shown as evidence.
"""

from __future__ import annotations

from tocsin.mail.model import Reason, View

NAME = "structure"


def detect(view: View) -> list[Reason]:
    parsed = view.parsed
    reasons: list[Reason] = []
    if parsed.limits_hit:
        reasons.append(
            Reason(
                NAME,
                "scanner_evasion",
                0.5,
                f"the message exceeds tocsin's parsing limits ({', '.join(parsed.limits_hit)}); "
                "content past them was not analysed",
            )
        )
    defects = [w for w in parsed.warnings if "Defect" in w]
    if defects:
        reasons.append(Reason(NAME, "malformed", 0.05, f"malformed MIME: {defects[0]}"))
    return reasons
