"""Correlate a scan's alerts: campaigns (:mod:`.campaigns`), their behaviour in the lake
(:mod:`.features`) and their attribution to actor playbooks (:mod:`.score`)."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from tocsin.attribution.campaigns import Campaign, cluster
from tocsin.attribution.features import measure
from tocsin.attribution.score import attribute_all
from tocsin.events import Alert


def correlate(alerts: Sequence[Alert], con: duckdb.DuckDBPyConnection | None) -> list[Campaign]:
    """Group ``alerts`` into campaigns, measure them over ``con``'s ``events`` view, attribute
    them, and set every alert's ``campaign`` (and ``actor`` when attributed)."""
    campaigns = cluster(alerts)
    measure(con, campaigns)
    attribute_all(campaigns, alerts)
    return campaigns
