"""tocsin's HTTP API (FastAPI): the CrowdSec-compatible bouncer API, pre-auth checks, and
decision administration. ``create_app`` builds it; ``tocsin serve`` runs it."""

from __future__ import annotations

from tocsin.api.app import ApiSettings, create_app

__all__ = ["ApiSettings", "create_app"]
