"""`tocsin serve`: the API (bouncers, pre-auth checks, administration) over the state database,
turning alerts that reach it into decisions as they arrive."""

from __future__ import annotations

import gc
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from tocsin.cli.settings import load_settings
from tocsin.paths import default_data_dir
from tocsin.store.state import default_url
from tocsin.text import for_terminal


def serve(
    host: Annotated[
        str, typer.Option(help="Address to listen on (only this machine by default).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8080,
    data_dir: Annotated[
        Path | None, typer.Option(help="Event lake and state (as given to scan).")
    ] = None,
    state_url: Annotated[
        str | None, typer.Option(help="State database URL (default: state.db in the data dir).")
    ] = None,
    config_file: Annotated[
        Path | None,
        typer.Option("--config", help="tocsin.toml (default: $TOCSIN_CONFIG, else ./tocsin.toml)."),
    ] = None,
    respond_every: Annotated[
        float, typer.Option(min=0, help="Seconds between passes over new alerts (0: never).")
    ] = 5.0,
    refresh: Annotated[
        float, typer.Option(min=0.1, help="Seconds between checks for changed decisions.")
    ] = 1.0,
    notify_every: Annotated[
        float,
        typer.Option(
            min=0,
            help="Seconds between deliveries of due notifications, when tocsin.toml names a "
            "channel (0: never; `tocsin notify send` then delivers).",
        ),
    ] = 30.0,
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = False,
) -> None:
    """Serve the CrowdSec-compatible bouncer API, /v1/check and decision administration.

    Keys: `tocsin decisions bouncer add NAME`. OpenAPI at /docs and /openapi.json.
    """
    import uvicorn

    from tocsin.api import ApiSettings, create_app

    console = Console(stderr=True, highlight=False)
    config = load_settings(console, config_file)
    directory = data_dir or default_data_dir()
    directory.mkdir(parents=True, exist_ok=True)
    settings = ApiSettings(
        state_url=state_url or default_url(directory),
        config=config,
        data_dir=directory,
        refresh_seconds=refresh,
        respond_seconds=respond_every or None,
        notify_seconds=notify_every or None,
    )
    app = create_app(settings)
    # Everything loaded so far (modules, the app, the decision index) lives as long as the
    # process: keep it out of the cyclic collector's full passes, which otherwise stall
    # requests for milliseconds now and then.
    gc.collect()
    gc.freeze()
    # When a worker thread rebuilds the decision index, the request loop gets the interpreter
    # back within half a millisecond instead of the default five.
    sys.setswitchinterval(0.0005)
    mode = config.response.mode if config else "simulate"
    delivering = bool(
        config and notify_every and (config.channels.smtp or config.channels.webhooks)
    )
    console.print(
        f"tocsin serve on http://{for_terminal(host)}:{port} · response mode {mode}"
        + ("" if config else " (no tocsin.toml: no policy, no allowlist)")
        + (f" · delivering notifications every {notify_every:g} s" if delivering else "")
    )
    uvicorn.run(app, host=host, port=port, access_log=access_log, log_level="info")
