"""Respond: decisions (simulate first), a CrowdSec-compatible bouncer API, exports.

(Being written.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tocsin.config import Config
from tocsin.events import Alert


def respond_to_alerts(
    config: Config | None, alerts: list[Alert], state_url: str, data_dir: Path
) -> dict[str, Any]:
    """Create or extend decisions for ``alerts`` per the response policy.

    Returns a summary for scan.json.
    """
    return {}
