"""Respond: decisions (simulate first), a CrowdSec-compatible bouncer API, exports.

* ``respond_to_alerts`` — what ``tocsin scan`` (and ``tocsin serve``) call after alerts are
  stored: the policy in tocsin.toml proposes decisions, the store checks each against the
  target rules and the allowlist, creates, extends or refuses it, and audits all of it.
* ``DecisionStore`` — the one way decisions are written and read.
* ``Bouncers`` — API keys of the enforcement points.

See ``docs/respond.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tocsin.config import Config
from tocsin.events import Alert
from tocsin.respond.bouncers import Bouncers
from tocsin.respond.decision import Decision, Outcome, Proposal
from tocsin.respond.policy import propose
from tocsin.respond.store import DecisionStore
from tocsin.store.state import StateStore

__all__ = [
    "Bouncers",
    "Decision",
    "DecisionStore",
    "Outcome",
    "Proposal",
    "apply_policy",
    "respond_to_alerts",
]


def apply_policy(
    store: DecisionStore,
    config: Config,
    alerts: list[Alert],
    *,
    created_by: str,
    data_dir: Path | None = None,
) -> Outcome:
    proposals = propose(config, alerts, created_by=created_by, data_dir=data_dir)
    outcome = store.apply(proposals) if proposals else Outcome()
    store.sweep_expired()
    return outcome


def respond_to_alerts(
    config: Config | None, alerts: list[Alert], state_url: str, data_dir: Path
) -> dict[str, Any]:
    """Create or extend decisions for ``alerts`` per the response policy.

    Returns a summary for scan.json.
    """
    if config is None or not config.response.policy:
        return {"mode": config.response.mode if config else "simulate", "policy_rules": 0}
    state = StateStore(state_url)
    try:
        state.migrate()
        store = DecisionStore(state, config)
        outcome = apply_policy(store, config, alerts, created_by="scan", data_dir=data_dir)
    finally:
        state.dispose()
    return {
        "mode": config.response.mode,
        "policy_rules": len(config.response.policy),
        **outcome.summary(),
    }
