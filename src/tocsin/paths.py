"""Where tocsin keeps its data by default."""

from __future__ import annotations

import os
from pathlib import Path


def default_data_dir() -> Path:
    """``$TOCSIN_DATA_DIR``, else ``$XDG_DATA_HOME/tocsin``, else ``~/.local/share/tocsin``."""
    explicit = os.environ.get("TOCSIN_DATA_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "tocsin"
