"""Detection at scale: every rule over ~5,000,000 events against a raw DuckDB pass.

    python bench/detect_scale.py                 # simulate --profile scale (cached), ingest, time

1. ``tocsin simulate --profile scale`` (about 5,000,000 Entra ID sign-ins over 14 days for
   about 20,000 people in several organisations, with one spray campaign) — cached in
   ``bench/out/scale/``;
2. ``tocsin scan`` ingests it once into ``bench/out/scale-lake`` (not timed here: that is
   bench/ingest.py's job);
3. in child processes, on the same lake, times ``tocsin detect`` (every rule, the shared
   views, alert state) and a raw DuckDB pass — one GROUP BY over the columns the rules read —
   and reads each child's peak RSS.

Targets: detection within 2× the raw pass and under 4 GB peak RSS.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

from ingest import run_child, warm_page_cache

HERE = Path(__file__).resolve().parent
TARGET_RATIO = 2.0
TARGET_RSS_GB = 4.0

_RAW = """
import duckdb, sys
con = duckdb.connect()
con.execute("SET memory_limit = '1GB'")
glob = sys.argv[1] + "/events/*/*/*.parquet"
rows = con.execute(
    "SELECT tenant, \\"user\\", src_ip, outcome, reason, count(*), min(time), max(time) "
    "FROM read_parquet(?, hive_partitioning = true) GROUP BY ALL", [glob]
).fetchall()
print(len(rows))
"""


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--workdir", type=Path, default=HERE / "out")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    logs = args.workdir / "scale"
    lake = args.workdir / "scale-lake"
    tocsin = [sys.executable, "-m", "tocsin"]
    if not (logs / "truth.json").exists():
        shutil.rmtree(logs, ignore_errors=True)
        print(f"simulating the scale profile into {logs} …", flush=True)
        subprocess.run([*tocsin, "simulate", "--profile", "scale", "--seed", str(args.seed),
                        "--out", str(logs), "--quiet"], check=True)  # fmt: skip
        shutil.rmtree(lake, ignore_errors=True)
    if not (lake / "events").exists():
        print(f"ingesting into {lake} …", flush=True)
        orgs = sorted(p for p in logs.iterdir() if p.is_dir())
        subprocess.run([*tocsin, "scan", *map(str, orgs), "--data-dir", str(lake), "--quiet",
                        "--no-progress"], check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    out = args.workdir / "scale-detect"
    warm_page_cache(sorted((lake / "events").rglob("*.parquet")))
    detect_s, detect_gb, status = run_child(
        [*tocsin, "detect", "--data-dir", str(lake), "--out", str(out), "--quiet"]
    )
    if status:
        print(f"tocsin detect failed with exit status {status}")
        return 1
    raw_s, raw_gb, status = run_child([sys.executable, "-c", _RAW, str(lake)])
    if status:
        print("the raw DuckDB pass failed")
        return 1
    events = int(
        subprocess.run(
            [sys.executable, "-c", "import duckdb,sys; print(duckdb.connect().execute("
             "\"SELECT count(*) FROM read_parquet(?)\", [sys.argv[1]]).fetchall()[0][0])",
             str(lake / "events" / "*" / "*" / "*.parquet")],
            check=True, capture_output=True, text=True,
        ).stdout
    )  # fmt: skip
    alerts = (out / "alerts.jsonl").read_text().count("\n")
    ratio = detect_s / raw_s
    print(f"events in the lake          {events:>12,}")
    detect_line = f"tocsin detect (all rules)   {detect_s:>12.1f} s   peak RSS {detect_gb:.2f} GB"
    print(f"{detect_line}   {alerts} alerts")
    print(f"raw DuckDB GROUP BY pass    {raw_s:>12.1f} s   peak RSS {raw_gb:.2f} GB")
    print(f"ratio detect / raw          {ratio:>12.2f}×")
    checks = [
        (f"within {TARGET_RATIO:.0f}× of the raw pass", ratio <= TARGET_RATIO),
        (f"peak RSS under {TARGET_RSS_GB:.0f} GB", detect_gb < TARGET_RSS_GB),
    ]
    for label, ok in checks:
        print(f"  {'PASS' if ok else 'FAIL'}  {label}")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
