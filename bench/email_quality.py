"""Mail detection quality on real labelled mail: tocsin against SpamAssassin, same messages.

    .venv/bin/python bench/email_quality.py                  # ../shared/data/email
    .venv/bin/python bench/email_quality.py --no-spamassassin
    .venv/bin/python bench/email_quality.py --data DIR --threshold 0.5

Reads DIR/labels.csv (file, label = phish | ham) and every message it names, as data only:
nothing is fetched, opened or run. Prints, for tocsin at the given threshold: the confusion
matrix, phishing flagged (verdict not clean) and ham flagged, each detector's contribution
(how often it fires on each class, and how many flagged messages would be clean without it),
and the speed. Then the same messages through Debian's SpamAssassin with local tests only
(``spamassassin -L``: no DNS blocklists, no network; Bayes off, in a throw-away home, so it
learns nothing), at its default threshold of 5.0, side by side.

Exit status 1 if tocsin misses the targets: phishing flagged >= 90 %, ham flagged <= 1 %.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from tocsin.mail import analyze, build_context, read_messages  # noqa: E402
from tocsin.mail.analyze import Report  # noqa: E402
from tocsin.mail.reader import RawMessage  # noqa: E402
from tocsin.mail.score import PHISH, SUSPICIOUS, combine  # noqa: E402

SHARED = Path(os.environ.get("TOCSIN_SHARED_DATA", REPO.parent / "shared" / "data"))
OUT = REPO / "bench" / "out" / "email"
TARGET_RECALL, TARGET_FPR = 0.90, 0.01


def load(data: Path) -> list[tuple[str, str, bytes]]:
    with (data / "labels.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [(r["file"], r["label"], (data / r["file"]).read_bytes()) for r in rows]


def run_tocsin(
    messages: list[tuple[str, str, bytes]], threshold: float, repeat: int = 3
) -> dict[str, object]:
    ctx, _ = build_context(None, None)
    analyze(RawMessage("warm-up", None, messages[0][2], "eml"), ctx)  # build lazy tables once
    # Speed: the fastest of ``repeat`` passes (the machine is shared; a pass slowed by other
    # work measures the other work). Quality: the first pass (every pass gives the same).
    results: list[tuple[str, Report]] = []
    wall = cpu = float("inf")
    for attempt in range(max(1, repeat)):
        started, started_cpu = time.perf_counter(), time.process_time()
        reports = [
            (label, analyze(RawMessage(name, None, data, "eml"), ctx, threshold))
            for name, label, data in messages
        ]
        wall = min(wall, time.perf_counter() - started)
        cpu = min(cpu, time.process_time() - started_cpu)
        if attempt == 0:
            results = reports
    matrix: Counter[tuple[str, str]] = Counter((label, r.verdict) for label, r in results)
    fires: dict[str, Counter[str]] = {}
    decisive: Counter[str] = Counter()
    for label, report in results:
        detectors = {r.detector for r in report.reasons if r.weight > 0}
        for reason in report.reasons:
            if reason.weight > 0:
                fires.setdefault(f"{reason.detector}/{reason.code}", Counter())[label] += 1
        if report.verdict == "clean":
            continue
        for detector in detectors:
            rest = [r for r in report.reasons if r.detector != detector]
            if combine(rest) < threshold:
                decisive[(detector, label)] += 1  # type: ignore[index]
    return {
        "results": results,
        "matrix": matrix,
        "fires": fires,
        "decisive": decisive,
        "wall": wall,
        "cpu": cpu,
    }


def run_spamassassin(messages: list[tuple[str, str, bytes]]) -> dict[str, float] | None:
    """sha256 → SpamAssassin score, local tests only; cached in bench/out/email/."""
    binary = shutil.which("spamassassin")
    if binary is None:
        print("spamassassin is not installed (Debian package `spamassassin`, see "
              ".ci/packages.d/mail.txt): skipping the comparison")  # fmt: skip
        return None
    OUT.mkdir(parents=True, exist_ok=True)
    cache_file = OUT / "spamassassin-scores.json"
    cache: dict[str, float] = json.loads(cache_file.read_text()) if cache_file.exists() else {}
    todo = [(n, lab, d) for n, lab, d in messages if hashlib.sha256(d).hexdigest() not in cache]
    if todo:
        print(f"SpamAssassin: scanning {len(todo)} messages (local tests only)…", flush=True)
        cache.update(_spamassassin_batch(binary, todo))
        cache_file.write_text(json.dumps(cache, indent=0, sort_keys=True))
    return cache


def _spamassassin_batch(binary: str, messages: list[tuple[str, str, bytes]]) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="tocsin-sa-") as tmp:
        home = Path(tmp)
        prefs = home / "user_prefs"
        prefs.write_text("use_bayes 0\nbayes_auto_learn 0\n")
        mbox = home / "in.mbox"
        order: list[str] = []
        with mbox.open("wb") as f:
            for _, _, data in messages:
                digest = hashlib.sha256(data).hexdigest()
                order.append(digest)
                f.write(b"From tocsin-bench@localhost Thu Jan  1 00:00:00 1970\n")
                # An id header maps SpamAssassin's output back to the message, whatever
                # its output mbox looks like.
                f.write(f"X-Tocsin-Bench-Id: {digest}\n".encode())
                for line in data.replace(b"\r\n", b"\n").split(b"\n"):
                    if line.lstrip(b">").startswith(b"From "):
                        line = b">" + line
                    f.write(line + b"\n")
                f.write(b"\n")
        env = {**os.environ, "HOME": str(home)}
        command = [binary, "-L", "--mbox", "-p", str(prefs), "--cf", "use_bayes 0",
                   "--cf", "bayes_auto_learn 0", "--cf", f"bayes_path {home}/bayes",
                   "--cf", "report_safe 0"]  # fmt: skip
        out = home / "out.mbox"
        with mbox.open("rb") as stdin, out.open("wb") as stdout:
            subprocess.run(command, stdin=stdin, stdout=stdout, stderr=subprocess.DEVNULL,
                           env=env, check=False, timeout=3600)  # fmt: skip
        scores: dict[str, float] = {}
        for raw in read_messages(out, "mbox"):
            digest, score = _sa_result(raw.data)
            if digest in order and digest not in scores:
                scores[digest] = score
        return scores


def _sa_result(data: bytes) -> tuple[str, float]:
    head = data.split(b"\n\n", 1)[0].decode("latin-1")
    digest, score = "", float("nan")
    for line in head.replace("\n\t", " ").replace("\n ", " ").splitlines():
        lowered = line.lower()
        if lowered.startswith("x-tocsin-bench-id:"):
            digest = line.split(":", 1)[1].strip()
        elif lowered.startswith("x-spam-status:") and "score=" in line and score != score:
            with contextlib.suppress(ValueError):
                score = float(line.split("score=", 1)[1].split()[0])
    return digest, score


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=SHARED / "email")
    parser.add_argument("--threshold", type=float, default=SUSPICIOUS)
    parser.add_argument("--no-spamassassin", action="store_true")
    parser.add_argument("--repeat", type=int, default=3, help="passes timed; the fastest counts")
    args = parser.parse_args()
    messages = load(args.data)
    n_phish = sum(1 for _, label, _ in messages if label == "phish")
    n_ham = len(messages) - n_phish
    print(f"{len(messages)} messages from {args.data}: {n_phish} phishing, {n_ham} ham")
    result = run_tocsin(messages, args.threshold, args.repeat)
    matrix: Counter[tuple[str, str]] = result["matrix"]  # type: ignore[assignment]
    print(f"\ntocsin, threshold {args.threshold} (phish at {PHISH}); verdict per label:")
    print(f"  {'':8} {'phish':>8} {'suspicious':>11} {'clean':>8}")
    for label in ("phish", "ham"):
        row = [matrix[(label, v)] for v in ("phish", "suspicious", "clean")]
        print(f"  {label:8} {row[0]:>8} {row[1]:>11} {row[2]:>8}")
    recall = (n_phish - matrix[("phish", "clean")]) / max(1, n_phish)
    fpr = (n_ham - matrix[("ham", "clean")]) / max(1, n_ham)
    print(f"  phishing flagged {recall:.1%}   ham flagged {fpr:.1%}")
    print("\nDetector contributions (fires on phishing / ham; flagged messages that would be "
          "clean without the detector):")  # fmt: skip
    fires: dict[str, Counter[str]] = result["fires"]  # type: ignore[assignment]
    for code, counts in sorted(fires.items(), key=lambda kv: -kv[1]["phish"]):
        print(f"  {code:40} {counts['phish']:>5} / {counts['ham']:<5}")
    decisive: Counter[tuple[str, str]] = result["decisive"]  # type: ignore[assignment]
    print("  decisive, by detector (phish / ham):")
    for detector in sorted({d for d, _ in decisive}):
        print(f"    {detector:20} {decisive[(detector, 'phish')]:>5} / "
              f"{decisive[(detector, 'ham')]:<5}")  # fmt: skip
    wall, cpu = float(result["wall"]), float(result["cpu"])  # type: ignore[arg-type]
    size = sum(len(d) for _, _, d in messages) / len(messages) / 1024
    load_average = os.getloadavg()[0]
    print(f"\nSpeed: {len(messages) / wall:,.0f} messages/s wall, {len(messages) / cpu:,.0f} "
          f"per CPU-second (one process, fastest of {args.repeat} passes; mean message "
          f"{size:.1f} KiB; load average {load_average:.1f} on {os.cpu_count()} CPUs)")  # fmt: skip
    if not args.no_spamassassin:
        scores = run_spamassassin(messages)
        if scores is not None:
            flagged = Counter()
            for _, label, data in messages:
                score = scores.get(hashlib.sha256(data).hexdigest(), float("nan"))
                flagged[label] += score >= 5.0
            print(
                "\nSide by side, same messages (flagged = tocsin not clean; SpamAssassin >= 5.0):"
            )
            print(f"  {'':22} {'phishing flagged':>17} {'ham flagged':>12}")
            print(f"  {'tocsin':22} {recall:>17.1%} {fpr:>12.1%}")
            print(f"  {'SpamAssassin -L':22} {flagged['phish'] / max(1, n_phish):>17.1%} "
                  f"{flagged['ham'] / max(1, n_ham):>12.1%}")  # fmt: skip
    ok = recall >= TARGET_RECALL and fpr <= TARGET_FPR
    print(f"\nTargets: phishing flagged >= {TARGET_RECALL:.0%}, ham flagged <= {TARGET_FPR:.0%}: "
          + ("PASS" if ok else "FAIL"))  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
