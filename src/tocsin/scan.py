"""`tocsin scan` as a library call: ingest files, run every rule, write the results."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from tocsin import __version__
from tocsin.attribution.campaigns import Campaign
from tocsin.attribution.correlate import correlate
from tocsin.attribution.store import save_campaigns
from tocsin.config import Config
from tocsin.detect.engine import Evaluation, evaluate
from tocsin.detect.rules import RuleError, load_rules
from tocsin.enrich.geo import GeoResolver
from tocsin.events import SEVERITIES
from tocsin.ingest import IngestResult, RejectLog, expand_inputs, ingest
from tocsin.mail import MailScan, looks_like_mail, scan_mail
from tocsin.notify import queue_notifications
from tocsin.respond import respond_to_alerts
from tocsin.sources.base import ReadOptions
from tocsin.sources.reader import DEFAULT_MAX_RECORD, FileReport
from tocsin.store.duck import connect
from tocsin.store.lake import Lake, create_views
from tocsin.store.state import StateStore, default_url


class RulesBroken(Exception):
    """The installed rules do not load; scanning with a silently missing rule is worse."""

    def __init__(self, errors: list[RuleError]) -> None:
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors


@dataclass(slots=True)
class ScanConfig:
    paths: Sequence[Path]
    data_dir: Path
    out_dir: Path | None = None
    forced_format: str | None = None
    read_options: ReadOptions = field(default_factory=ReadOptions)
    max_record: int = DEFAULT_MAX_RECORD
    memory_limit: str | None = "1GB"
    threads: int | None = None
    state_url: str | None = None  # default: SQLite in the data directory
    config: Config | None = None  # tocsin.toml: organisations, people, policy, channels
    geoip: GeoResolver | None = None  # user's geolocation databases (default: bundled data)
    enrich: bool = True  # place, AS and Tor/VPN/hosting/IOC tags at ingest


@dataclass(slots=True)
class ScanResult:
    ingest: IngestResult
    evaluation: Evaluation
    rejects: RejectLog
    seconds: float
    alerts_path: Path | None = None
    rejects_path: Path | None = None
    alerts_new: int = 0
    alerts_updated: int = 0
    mail: MailScan | None = None
    response: dict[str, Any] = field(default_factory=dict)
    notifications: dict[str, Any] = field(default_factory=dict)
    campaigns: list[Campaign] = field(default_factory=list)
    correlate_seconds: float = 0.0

    def alerts_by_severity(self) -> dict[str, int]:
        counts = dict.fromkeys(SEVERITIES, 0)
        for alert in self.evaluation.alerts:
            counts[alert.severity] += 1
        return counts

    def events_by_source(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for report in self.ingest.reports:
            if report.source and report.events:
                counts[report.source] = counts.get(report.source, 0) + report.events
        return counts


def run_scan(
    config: ScanConfig,
    *,
    on_file: Callable[[FileReport], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> ScanResult:
    started = time.perf_counter()
    rules = load_rules()
    if rules.errors:
        raise RulesBroken(rules.errors)
    lake = Lake(config.data_dir, geoip=config.geoip, enrich=config.enrich)
    # Mail goes to the mail analysers; everything else is read as logs.
    log_paths, mail_paths = _split_mail(config.paths)
    rejects_path = config.out_dir / "rejects.jsonl" if config.out_dir else None
    rejects = RejectLog(rejects_path)
    try:
        with lake.locked():
            lake.prepare()
            con = connect(
                memory_limit=config.memory_limit,
                threads=config.threads,
                temp_directory=lake.tmp_dir,
            )
            try:
                ingested = ingest(
                    log_paths,
                    lake,
                    con,
                    rejects,
                    forced_format=config.forced_format,
                    options=config.read_options,
                    max_record=config.max_record,
                    on_file=on_file,
                    on_progress=on_progress,
                )
                create_views(con, lake)
                evaluation = evaluate(con, rules.rules)
            finally:
                con.close()
    finally:
        rejects.close()
    mail = None
    if mail_paths:
        mail = scan_mail(
            mail_paths, data_dir=config.data_dir, out_dir=config.out_dir, config=config.config
        )
        evaluation.alerts.extend(mail.alerts)
    correlate_started = time.perf_counter()
    campaigns = _correlate(config, lake, evaluation)
    correlate_seconds = time.perf_counter() - correlate_started
    state_url = config.state_url or default_url(config.data_dir)
    store = StateStore(state_url)
    try:
        store.migrate()
        new, updated = store.upsert_alerts(evaluation.alerts)
        save_campaigns(store, campaigns)
    finally:
        store.dispose()
    result = ScanResult(ingested, evaluation, rejects, time.perf_counter() - started)
    result.campaigns, result.correlate_seconds = campaigns, correlate_seconds
    result.alerts_new, result.alerts_updated, result.mail = new, updated, mail
    result.response = respond_to_alerts(
        config.config, evaluation.alerts, state_url, config.data_dir
    )
    result.notifications = queue_notifications(config.config, evaluation.alerts, state_url)
    if config.out_dir is not None:
        result.rejects_path = rejects_path
        result.alerts_path = write_outputs(config, result)
    return result


def _correlate(config: ScanConfig, lake: Lake, evaluation: Evaluation) -> list[Campaign]:
    """Campaigns across every alert (mail too), measured in the lake, attributed."""
    con = connect(memory_limit=config.memory_limit, threads=config.threads)
    try:
        create_views(con, lake)
        campaigns = correlate(evaluation.alerts, con)
    finally:
        con.close()
    return campaigns


def _split_mail(paths: Sequence[Path]) -> tuple[list[Path], list[Path]]:
    """Mail (messages, mbox files, Maildir folders) apart from logs, looking inside folders."""
    logs: list[Path] = []
    mail: list[Path] = []
    for path in paths:
        if looks_like_mail(path):
            mail.append(path)
        elif path.is_dir():
            files, _ = expand_inputs([path])
            for file in files:
                (mail if looks_like_mail(file) else logs).append(file)
        else:
            logs.append(path)
    return logs, mail


def write_outputs(config: ScanConfig, result: ScanResult) -> Path:
    """alerts.jsonl (contract 2) and scan.json (what was read, skipped, rejected, found)."""
    assert config.out_dir is not None
    out = config.out_dir
    out.mkdir(parents=True, exist_ok=True)
    alerts_path = out / "alerts.jsonl"
    with alerts_path.open("wb") as f:
        for alert in result.evaluation.alerts:
            f.write(orjson.dumps(alert.to_dict()) + b"\n")
    with (out / "campaigns.jsonl").open("wb") as f:
        for campaign in result.campaigns:
            f.write(orjson.dumps(campaign.to_dict()) + b"\n")
    summary: dict[str, Any] = {
        "tocsin": __version__,
        "data_dir": str(config.data_dir),
        "seconds": round(result.seconds, 3),
        "files": [_file_summary(r) for r in result.ingest.reports],
        "missing_inputs": result.ingest.unreadable,
        "events_by_source": result.events_by_source(),
        "lake": {
            "staged": result.ingest.commit.staged,
            "added": result.ingest.commit.added,
            "duplicates": result.ingest.commit.duplicates,
        },
        "rejects": result.rejects.count,
        "timings": {
            "read": round(sum(r.seconds for r in result.ingest.reports), 3),
            "commit_and_enrich": round(result.ingest.commit_seconds, 3),
            "views": round(result.evaluation.views_seconds, 3),
            "rules": round(sum(r.seconds for r in result.evaluation.runs), 3),
            "correlate": round(result.correlate_seconds, 3),
        },
        "alerts_by_severity": result.alerts_by_severity(),
        "campaigns": _campaign_summary(result.campaigns),
        "mail": result.mail.summary if result.mail else None,
        "response": result.response,
        "notifications": result.notifications,
        "rules": [
            {"rule": r.rule, "alerts": r.alerts, "seconds": round(r.seconds, 3), "error": r.error}
            for r in result.evaluation.runs
        ],
    }
    (out / "scan.json").write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2) + b"\n")
    return alerts_path


def _campaign_summary(campaigns: Sequence[Campaign]) -> dict[str, Any]:
    return {
        "count": len(campaigns),
        "multi_alert": sum(1 for c in campaigns if len(c.alert_ids) > 1),
        "cross_organisation": sum(1 for c in campaigns if len(c.tenants) > 1),
        "attributed": [
            {
                "id": c.id,
                "actor": c.attribution["actor"]["name"],
                "confidence": c.attribution["actor"]["confidence"],
            }
            for c in campaigns
            if c.attribution.get("actor")
        ],
    }


def _file_summary(report: FileReport) -> dict[str, Any]:
    return {
        "path": report.path,
        "format": report.format,
        "container": report.container,
        "compressed": report.compressed,
        "reader": report.reader,
        "records": report.records,
        "events": report.events,
        "skipped": dict(report.skipped),
        "rejected": report.rejected,
        "note": report.note,
        "seconds": round(report.seconds, 3),
    }
