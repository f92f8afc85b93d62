"""Attribution: a campaign's measured behaviour compared with every actor playbook.

For each playbook, the signatures the campaign meets add their weights. The sum is then
capped by how much the evidence can bear:

* only ``weak`` signals (techniques many actors share, Office 365 as the target…): at most
  :data:`CAP_WEAK` — never enough to name an actor;
* a single signal of any strength: at most :data:`CAP_SINGLE` (a single ``strong`` signal,
  an imported indicator of the actor, at most :data:`CAP_SINGLE_STRONG`);
* no ``strong`` signal (behaviour alone, however typical): at most :data:`CAP_BEHAVIOUR`;
* otherwise at most :data:`CAP_MAX` — tocsin never claims certainty.

The best playbook names the actor when its confidence reaches :data:`ATTRIBUTE_AT` and beats
the runner-up by :data:`MARGIN`; otherwise the campaign is **unattributed** (the normal answer
for most attacks), with the closest candidates and their reasons still shown. Levels:
``high`` ≥ 0.75, ``medium`` ≥ 0.5, ``low`` below.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from tocsin.attribution.campaigns import Campaign
from tocsin.attribution.playbooks import Playbook, Signature, load
from tocsin.events import Actor

CAP_WEAK: Final = 0.3
CAP_SINGLE: Final = 0.3
CAP_SINGLE_STRONG: Final = 0.45
CAP_BEHAVIOUR: Final = 0.7
CAP_MAX: Final = 0.95
ATTRIBUTE_AT: Final = 0.4
MARGIN: Final = 0.15
_CANDIDATES: Final = 3


def level(confidence: float) -> str:
    return "high" if confidence >= 0.75 else "medium" if confidence >= 0.5 else "low"


def _cap(matched: Sequence[Signature]) -> tuple[float, str | None]:
    strengths = {s.strength for s in matched}
    if not matched:
        return 0.0, None
    if len(matched) == 1:
        if "strong" in strengths:
            return CAP_SINGLE_STRONG, "a single signal, however strong"
        return CAP_SINGLE, "a single signal"
    if strengths == {"weak"}:
        return CAP_WEAK, "weak signals only"
    if "strong" not in strengths:
        return CAP_BEHAVIOUR, "behaviour only, no indicator of the actor"
    return CAP_MAX, None


def compare(features: Mapping[str, Any], playbook: Playbook) -> dict[str, Any]:
    """How well a campaign's features fit one playbook, with every reason."""
    matched: list[Signature] = []
    reasons: list[str] = []
    missing: list[str] = []
    for signature in playbook.signatures:
        ok, measured = signature.when.test(features, playbook.actor.key)
        detail = f" ({'; '.join(measured)})" if measured else ""
        if ok:
            matched.append(signature)
            reasons.append(
                f"{signature.says}{detail} [{signature.strength}, +{signature.weight:g}]"
            )
        else:
            missing.append(f"{signature.says}{detail}")
    raw = sum(s.weight for s in matched)
    cap, why = _cap(matched)
    confidence = round(min(raw, cap), 2)
    if why and raw > cap:
        reasons.append(f"confidence capped at {cap:g}: {why}")
    return {
        "actor": playbook.actor.name,
        "key": playbook.actor.key,
        "attack_group": playbook.group.id,
        "confidence": confidence,
        "level": level(confidence),
        "score": round(raw, 2),
        "reasons": reasons,
        "missing": missing,
    }


def attribute(campaign: Campaign, playbooks: Iterable[Playbook] | None = None) -> dict[str, Any]:
    """The campaign's attribution: an actor with confidence and reasons, or unattributed."""
    books = list(load().playbooks if playbooks is None else playbooks)
    ranked = sorted(
        (compare(campaign.features, p) for p in books),
        key=lambda c: (-c["confidence"], -c["score"], c["actor"]),
    )
    candidates = [c for c in ranked if c["confidence"] > 0][:_CANDIDATES]
    best = candidates[0] if candidates else None
    runner = candidates[1]["confidence"] if len(candidates) > 1 else 0.0
    result: dict[str, Any] = {"status": "unattributed", "actor": None, "candidates": candidates}
    if best is None:
        result["reasons"] = ["no actor playbook matches this campaign's behaviour"]
    elif best["confidence"] < ATTRIBUTE_AT:
        result["reasons"] = [
            f"closest: {best['actor']} at {best['confidence']:g}, below {ATTRIBUTE_AT:g} "
            "needed to name an actor"
        ]
    elif best["confidence"] - runner < MARGIN:
        result["reasons"] = [
            f"ambiguous: {best['actor']} at {best['confidence']:g} and "
            f"{candidates[1]['actor']} at {runner:g} fit about as well"
        ]
    else:
        result.update(
            status="attributed",
            actor={
                "name": best["actor"],
                "key": best["key"],
                "attack_group": best["attack_group"],
                "confidence": best["confidence"],
                "level": best["level"],
                "reasons": best["reasons"],
            },
            reasons=best["reasons"],
        )
    return result


def alert_actor(attribution: Mapping[str, Any]) -> Actor | None:
    """The alert contract's ``actor`` for an attributed campaign (None when unattributed)."""
    actor = attribution.get("actor")
    if not actor:
        return None
    reasons = [f"campaign attribution ({actor['level']} confidence): {r}" for r in actor["reasons"]]
    return Actor(name=actor["name"], confidence=actor["confidence"], reasons=reasons)


def attribute_all(campaigns: Sequence[Campaign], alerts: Iterable[Any]) -> None:
    """Attribute each campaign and give its alerts the campaign's actor."""
    by_campaign = {c.id: c for c in campaigns}
    for campaign in campaigns:
        campaign.attribution = attribute(campaign)
    for alert in alerts:
        found = by_campaign.get(alert.campaign) if alert.campaign else None
        actor = alert_actor(found.attribution) if found is not None else None
        if actor is not None:  # an actor a rule named (from an indicator) stays otherwise
            alert.actor = actor
