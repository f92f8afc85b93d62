"""The state database keeps one row per alert id; re-scans update it as evidence grows."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from tocsin.events import Alert
from tocsin.store.state import StateStore


def _alert(**changes: object) -> Alert:
    base = Alert(
        id="al-1", rule="password_guessing", title="t", severity="medium", confidence=0.7,
        first_seen="2020-09-03T02:00:00Z", last_seen="2020-09-03T02:17:59Z", tenant="t1",
        users=["a@x.example"], compromised_users=[], src_ips=["1.2.3.4"], src_asns=[],
        countries=[], user_agents=[], techniques=["T1110.001"], evidence_count=10,
        evidence={"event_ids": [], "query": "q", "group_key": "k"}, summary="s",
        recommended_actions=["r"],
    )  # fmt: skip
    return replace(base, **changes)  # type: ignore[arg-type]


def test_upsert_inserts_then_updates_in_place(tmp_path: Path) -> None:
    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    store.migrate()
    store.migrate()  # idempotent
    assert store.upsert_alerts([_alert()]) == (1, 0)
    assert store.upsert_alerts([_alert()]) == (0, 0)  # nothing changed
    grown = _alert(last_seen="2020-09-03T03:00:00Z", evidence_count=25, severity="high")
    assert store.upsert_alerts([grown]) == (0, 1)
    stored = store.get_alert("al-1")
    assert stored is not None
    assert (stored["evidence_count"], stored["severity"]) == (25, "high")
    assert store.find_alerts("al-") == ["al-1"]
