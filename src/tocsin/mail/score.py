"""From reasons to a score and a verdict.

Each reason's weight is read as the probability that the evidence alone means the message is
malicious. Evidence combines like independent causes (a *noisy-OR*): the score is
``1 − Π(1 − weight)``, so two 0.5 reasons make 0.75 and adding weak evidence never lowers a
score. Reasons of the same detector are correlated (SPF fail and DMARC fail often describe one
forgery; three lure phrases are one lure), so each detector's combined weight is capped first
(``DETECTOR_CAPS``): text lures and beacons alone stay below "suspicious" or just reach it,
whatever the number of phrases.

Verdicts: ``phish`` at ``PHISH`` (0.8) or more — two strong independent signals, or one
decisive one (a known indicator, a credential form); ``suspicious`` at ``SUSPICIOUS`` (0.5) —
one strong signal or several weak ones; else ``clean``. ``SUSPICIOUS`` is the default
threshold: "flagged" means not clean.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from tocsin.mail.model import Reason

SUSPICIOUS: Final = 0.5
PHISH: Final = 0.8
DETECTOR_CAPS: Final[dict[str, float]] = {
    "lures": 0.45,  # words alone never make a message suspicious
    "evasion": 0.5,  # text hidden from filters: suspicious on its own, at most
    "beacons": 0.5,  # a targeted beacon alone does, just
    "auth": 0.6,
    "sender": 0.75,
    "structure": 0.5,
    "links": 0.85,
    "attachments": 0.9,
    "lookalike": 0.7,
    "ioc": 0.95,
}


def combine(reasons: Iterable[Reason]) -> float:
    by_detector: dict[str, float] = {}
    for reason in reasons:
        kept = 1.0 - by_detector.get(reason.detector, 0.0)
        by_detector[reason.detector] = 1.0 - kept * (1.0 - reason.weight)
    clean = 1.0
    for detector, value in by_detector.items():
        clean *= 1.0 - min(value, DETECTOR_CAPS.get(detector, 0.9))
    return round(1.0 - clean, 3)


def verdict(score: float, threshold: float = SUSPICIOUS) -> str:
    if score >= max(PHISH, threshold):
        return "phish"
    if score >= threshold:
        return "suspicious"
    return "clean"
