"""Detection-quality benchmark: tocsin against per-address thresholds, on labelled simulations.

    python bench/quality.py --quick                         # one seed, small size (CI-like)
    python bench/quality.py                                  # seeds 1 2 3, sizes small large
    python bench/quality.py --profiles strontium-2020 --seeds 7 --sizes small

For every profile × size × seed, in the same run and on the same data:

1. ``python -m tocsin simulate --profile P --seed N --size S --out DIR`` writes Entra ID
   sign-in logs per organisation and ``truth.json`` (what really happened);
2. ``python -m tocsin scan`` ingests them into a fresh lake and writes ``alerts.jsonl``;
3. the per-address baselines of ``baselines.py`` (fail2ban, CrowdSec ssh-bf, Sentinel's
   password-spray analytic) run over that same lake;
4. ``tocsin.simulate.score`` scores every detector's alerts against the truth, identically.

It prints one table (campaign kind × detector), writes it as markdown to
``bench/out/quality.md``, and checks tocsin's targets: spray targeted-user recall ≥ 0.95,
brute-force targeted-user recall 1.0, compromised-user recall 1.0, stuffing targeted-user
recall ≥ 0.95, ≤ 0.5 false-positive users per 10,000 benign user-days, no high or critical
alert on a trap, and each kind of campaign reported as a handful of alerts (median ≤ 10
alerts per detected campaign). Exit status 1 if a target is missed, 2 if a run failed.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from baselines import BASELINES, open_lake
from tocsin import __version__
from tocsin.simulate.score import (
    CampaignScore,
    KindSummary,
    RunScore,
    fp_rate,
    score,
    summarize,
)
from tocsin.simulate.truth import Truth

HERE = Path(__file__).resolve().parent
DETECTORS = ("tocsin", *BASELINES)
KIND_ORDER = ("spray", "brute_force", "stuffing", "mfa_fatigue")
PROFILES = ("strontium-2020", "stuffing", "mfa-fatigue", "benign")

TARGET_SPRAY_RECALL = 0.95
TARGET_STUFFING_RECALL = 0.95
TARGET_FP_RATE = 0.5
TARGET_MEDIAN_ALERTS = 10.0


class BenchError(Exception):
    """A simulation or scan failed: there is nothing to score."""


@dataclass(slots=True)
class Run:
    profile: str
    size: str
    seed: int
    truth: Truth
    scores: dict[str, RunScore] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.profile} {self.size} seed {self.seed}"


# --------------------------------------------------------------------------------------------
# running


def _child(argv: list[str], what: str) -> float:
    started = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        raise BenchError(f"{what} failed with exit status {proc.returncode}:\n{tail}")
    return time.perf_counter() - started


def run_one(profile: str, size: str, seed: int, work: Path, reuse: bool, keep: bool) -> Run:
    base = work / f"{profile}-{size}-seed{seed}"
    logs, data, out = base / "logs", base / "data", base / "scan"
    seconds: dict[str, float] = {}
    if not (reuse and (logs / "truth.json").exists()):
        shutil.rmtree(base, ignore_errors=True)
        base.mkdir(parents=True)
        seconds["simulate"] = _child(
            [sys.executable, "-m", "tocsin", "simulate", "--profile", profile,
             "--seed", str(seed), "--size", size, "--out", str(logs)],
            f"tocsin simulate ({profile}, {size}, seed {seed})",
        )  # fmt: skip
    truth = Truth.read(logs / "truth.json")
    shutil.rmtree(data, ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    # The organisations' folders only: truth.json is the answer sheet, not a log.
    inputs = sorted(str(p) for p in logs.iterdir() if p.is_dir())
    if not inputs:
        raise BenchError(f"{logs}: the simulation wrote no organisation folder")
    seconds["tocsin"] = _child(
        [sys.executable, "-m", "tocsin", "scan", *inputs, "--data-dir", str(data),
         "--out", str(out), "--quiet", "--no-progress"],
        f"tocsin scan ({profile}, {size}, seed {seed})",
    )  # fmt: skip
    found: dict[str, list[dict[str, Any]]] = {"tocsin": _read_jsonl(out / "alerts.jsonl")}
    con = open_lake(data)
    try:
        for name, detect in BASELINES.items():
            started = time.perf_counter()
            found[name] = detect(con)
            seconds[name] = time.perf_counter() - started
    finally:
        con.close()
    if not keep:
        shutil.rmtree(data, ignore_errors=True)
        if not reuse:
            # A large run's logs are gigabytes; 24 runs filled a disk. --keep or --reuse
            # keeps them for the next run.
            shutil.rmtree(logs, ignore_errors=True)
    run = Run(profile, size, seed, truth, seconds=seconds)
    run.scores = {name: score(truth, alerts) for name, alerts in found.items()}
    return run


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    alerts = []
    with path.open("rb") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    alerts.append(orjson.loads(line))
                except orjson.JSONDecodeError as exc:
                    raise BenchError(f"{path}:{n}: not JSON ({exc})") from None
    return alerts


# --------------------------------------------------------------------------------------------
# the table


@dataclass(slots=True)
class Row:
    kind: str
    detector: str
    summary: KindSummary | None  # None: no campaign in these runs
    runs: int
    fp: float | None
    trap_alerts: int
    trap_high: int
    traps: int


def _kinds(runs: Sequence[Run]) -> list[str]:
    present: set[str] = {c.kind for r in runs for c in r.truth.campaigns}
    return [k for k in KIND_ORDER if k in present] + sorted(present - set(KIND_ORDER))


def build_rows(runs: Sequence[Run]) -> list[Row]:
    rows = []
    for kind in [*_kinds(runs), "all"]:
        chosen = [
            r for r in runs if kind == "all" or any(c.kind == kind for c in r.truth.campaigns)
        ]
        for det in DETECTORS:
            scores = [r.scores[det] for r in chosen]
            campaigns: list[CampaignScore] = [
                c for s in scores for c in s.campaigns if kind == "all" or c.kind == kind
            ]
            rows.append(
                Row(
                    kind=kind,
                    detector=det,
                    summary=summarize(campaigns).get(kind),
                    runs=len(chosen),
                    fp=fp_rate(scores),
                    trap_alerts=sum(s.trap_alerts for s in scores),
                    trap_high=sum(s.trap_high_alerts for s in scores),
                    traps=sum(len(s.traps) for s in scores),
                )
            )
    return rows


HEADER = (
    "campaigns", "detector", "detected", "user recall", "IP recall", "compromised recall",
    "alerts/campaign", "FP users/10k user-days", "trap alerts (high+)",
)  # fmt: skip
LEGEND = (
    "detected: campaigns with an overlapping alert of severity ≥ medium / campaigns. "
    "user recall: targeted accounts named by those alerts; IP recall: attacker addresses named; "
    "compromised recall: compromised accounts the alerts call compromised (all pooled over "
    "campaigns). alerts/campaign: median number of alerts overlapping a detected campaign. "
    "FP users/10k user-days: accounts named by an alert that no campaign or trap overlapping "
    "it explains, per 10,000 benign user-days of the runs holding that kind. trap alerts: alerts "
    "naming a trap's user or address that no campaign they overlap explains (high or critical "
    "ones in parentheses). Definitions: "
    "src/tocsin/simulate/score.py."
)


def _cells(row: Row) -> list[str]:
    s = row.summary
    kind = "all runs" if row.kind == "all" else row.kind
    traps = f"{row.trap_alerts} ({row.trap_high})" if row.traps else "no traps"
    fp = "—" if row.fp is None else f"{row.fp:.2f}"
    if s is None:
        return [kind, row.detector, "—", "—", "—", "—", "—", fp, traps]
    return [
        kind,
        row.detector,
        f"{s.detected}/{s.campaigns}",
        _recall(s.targets_found, s.targets),
        _recall(s.ips_found, s.attacker_ips),
        _recall(s.compromised_found, s.compromised),
        "—" if s.median_alerts is None else f"{s.median_alerts:g}",
        fp,
        traps,
    ]


def _recall(found: int, total: int) -> str:
    return "—" if not total else f"{found / total:.3f} ({found}/{total})"


def text_table(rows: Sequence[Row]) -> str:
    body = [_cells(r) for r in rows]
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(HEADER)]
    right = range(2, len(HEADER))

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    out = [line(HEADER), line(["-" * w for w in widths])]
    previous = None
    for row, cells in zip(rows, body, strict=True):
        if previous is not None and row.kind != previous:
            out.append("")
        out.append(line(cells))
        previous = row.kind
    return "\n".join(out)


def markdown_table(rows: Sequence[Row]) -> str:
    out = ["| " + " | ".join(HEADER) + " |", "|" + "|".join(["---"] * 2 + ["---:"] * 7) + "|"]
    for row in rows:
        cells = _cells(row)
        if row.detector == "tocsin":
            cells[1] = "**tocsin**"
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


# --------------------------------------------------------------------------------------------
# targets


@dataclass(slots=True)
class Check:
    label: str
    status: str  # PASS, FAIL or SKIP
    detail: str


def check_targets(runs: Sequence[Run]) -> list[Check]:
    scores = [r.scores["tocsin"] for r in runs]
    kinds = summarize(c for s in scores for c in s.campaigns)
    checks = [
        _recall_check(kinds, "spray", TARGET_SPRAY_RECALL, "spray targeted-user recall"),
        _recall_check(kinds, "brute_force", 1.0, "brute-force targeted-user recall"),
        _recall_check(kinds, "stuffing", TARGET_STUFFING_RECALL, "stuffing targeted-user recall"),
    ]
    every = kinds.get("all")
    label = "compromised-user recall = 1.0 (every campaign)"
    if every is None or not every.compromised:
        checks.append(Check(label, "SKIP", "no compromised account in these runs"))
    else:
        ok = every.compromised_found == every.compromised
        detail = f"{every.compromised_found}/{every.compromised}"
        checks.append(Check(label, "PASS" if ok else "FAIL", detail))
    rate = fp_rate(scores)
    label = f"≤ {TARGET_FP_RATE} FP users per 10,000 benign user-days"
    fp_users = sum(len(s.fp_users) for s in scores)
    days = sum(s.benign_user_days for s in scores)
    if rate is None:
        checks.append(Check(label, "FAIL", f"{fp_users} FP users, no benign user-days"))
    else:
        detail = f"{rate:.3f} ({fp_users} users over {days:,.0f} user-days)"
        checks.append(Check(label, "PASS" if rate <= TARGET_FP_RATE else "FAIL", detail))
    traps = sum(len(s.traps) for s in scores)
    high = sum(s.trap_high_alerts for s in scores)
    label = "no high/critical alert on any trap"
    if not traps:
        checks.append(Check(label, "SKIP", "no trap in these runs"))
    else:
        detail = f"{high} high/critical of {sum(s.trap_alerts for s in scores)} on {traps} traps"
        checks.append(Check(label, "PASS" if high == 0 else "FAIL", detail))
    for kind in _kinds(runs):
        s = kinds[kind]
        label = f"{kind}: a handful of alerts (median ≤ {TARGET_MEDIAN_ALERTS:g} per campaign)"
        if s.median_alerts is None:
            checks.append(Check(label, "FAIL", f"none of {s.campaigns} campaigns detected"))
        else:
            ok = s.median_alerts <= TARGET_MEDIAN_ALERTS
            checks.append(Check(label, "PASS" if ok else "FAIL", f"median {s.median_alerts:g}"))
    return checks


def _recall_check(kinds: dict[str, KindSummary], kind: str, target: float, label: str) -> Check:
    label = f"{label} ≥ {target:g}" if target < 1 else f"{label} = 1.0"
    s = kinds.get(kind)
    if s is None or not s.targets:
        return Check(label, "SKIP", f"no {kind} campaign in these runs")
    detail = f"{s.targets_found / s.targets:.3f} ({s.targets_found}/{s.targets})"
    ok = s.targets_found == s.targets if target >= 1 else s.targets_found >= target * s.targets
    return Check(label, "PASS" if ok else "FAIL", detail)


# --------------------------------------------------------------------------------------------
# report


def runs_table(runs: Sequence[Run]) -> str:
    head = ["run", "benign user-days", "campaigns", "traps"]
    head += [f"{d} alerts" for d in DETECTORS] + ["scan s"]
    out = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for r in runs:
        cells = [r.label, f"{r.truth.benign.user_days:,.0f}", str(len(r.truth.campaigns)),
                 str(len(r.truth.traps))]  # fmt: skip
        cells += [str(r.scores[d].alerts) for d in DETECTORS]
        cells.append(f"{r.seconds.get('tocsin', 0.0):.1f}")
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def write_markdown(
    path: Path,
    args: argparse.Namespace,
    runs: Sequence[Run],
    rows: Sequence[Row],
    checks: Sequence[Check],
) -> None:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Detection quality: tocsin against per-address thresholds",
        "",
        f"tocsin {__version__}, {when}. Profiles {', '.join(args.profiles)}; sizes "
        f"{', '.join(args.sizes)}; seeds {', '.join(map(str, args.seeds))} "
        f"({len(runs)} runs). Definitions: `src/tocsin/simulate/score.py`; baselines: "
        "`bench/baselines.py`.",
        "",
        markdown_table(rows),
        "",
        LEGEND,
        "",
        "## tocsin's targets",
        "",
        *[f"- **{c.status}** {c.label}: {c.detail}" for c in checks],
        "",
        "## Runs",
        "",
        runs_table(runs),
        "",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--profiles", nargs="+", default=list(PROFILES))
    parser.add_argument("--sizes", nargs="+", default=["small", "large"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--quick", action="store_true", help="one seed (1), small size only")
    parser.add_argument("--workdir", type=Path, default=HERE / "out" / "quality")
    parser.add_argument("--report", type=Path, default=HERE / "out" / "quality.md")
    parser.add_argument(
        "--reuse", action="store_true", help="reuse simulated logs already in --workdir"
    )
    parser.add_argument("--keep", action="store_true", help="keep each run's logs and event lake")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.sizes = [1], ["small"]
    runs: list[Run] = []
    try:
        for profile in args.profiles:
            for size in args.sizes:
                for seed in args.seeds:
                    run = run_one(profile, size, seed, args.workdir, args.reuse, args.keep)
                    counts = ", ".join(
                        f"{d} {run.scores[d].alerts} ({run.seconds.get(d, 0.0):.1f} s)"
                        for d in DETECTORS
                    )
                    _say(f"{run.label}: alerts {counts}")
                    runs.append(run)
    except (BenchError, ValueError, OSError) as exc:
        _say(f"error: {exc}")
        return 2
    rows = build_rows(runs)
    checks = check_targets(runs)
    print()
    print(text_table(rows))
    print()
    print(textwrap.fill(LEGEND, 100))
    print()
    for c in checks:
        print(f"  {c.status}  {c.label}: {c.detail}")
    write_markdown(args.report, args, runs, rows, checks)
    print(f"\nmarkdown: {args.report}")
    return 1 if any(c.status == "FAIL" for c in checks) else 0


if __name__ == "__main__":
    sys.exit(main())
