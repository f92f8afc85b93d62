"""Ingest benchmark: `tocsin scan` end to end against a raw DuckDB pass over the same file.

    python bench/ingest.py                      # 2,000,000 records (the default)
    python bench/ingest.py --records 5000000    # the memory target

It writes N Entra ID sign-in records in the Azure Monitor diagnostic-settings shape (nested
like the real samples: properties.status, deviceDetail, location, authenticationDetails…),
then, in the same run and on the same file:

* times ``tocsin scan FILE --data-dir NEW --out OUT`` in a child process (parse, normalize,
  write the Parquet lake, run every rule) and reads that child's peak RSS;
* times the same scan with ``--no-enrich`` (no place, AS or Tor/VPN/hosting/IOC tags), so
  the cost of enrichment is measured, not guessed;
* times a raw DuckDB ``read_json`` + ``GROUP BY`` over the file in another child, twice:
  with DuckDB's auto-detection (what a user would type) and with declared columns (DuckDB
  at its fastest).

Targets on the 2-core reference machine: ≥ 200,000 events/s end to end, within 3× of the
raw pass, peak RSS ≤ 2 GB at 5,000,000 records, enrichment adding ≤ 25 % to the scan.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from tocsin.simulate.entra_records import Place, signin_record

HERE = Path(__file__).resolve().parent
TARGET_RATE = 200_000
TARGET_RATIO = 3.0
TARGET_RSS_GB = 2.0
TARGET_ENRICH_OVERHEAD = 0.25
GENERATOR_VERSION = "v2"  # bump when generate() changes what it writes

_CODES = [0] * 86 + [50126] * 6 + [50074] * 3 + [50140] * 2 + [50053, 50076, 500121]
_APPS = [
    ("Office 365 Exchange Online", "00000002-0000-0ff1-ce00-000000000000", "Browser"),
    ("Microsoft Teams", "1fec8e78-bce4-4aaf-ab1b-5451cc387264", "Mobile Apps and Desktop clients"),
    ("OfficeHome", "4765445b-32c6-49b0-83e6-1d93765276ca", "Browser"),
    ("Microsoft Authentication Broker", "29d9ed98-a469-4536-ade2-f981bc1d605e",
     "Mobile Apps and Desktop clients"),
    ("Office 365 Exchange Online", "00000002-0000-0ff1-ce00-000000000000", "Exchange ActiveSync"),
]  # fmt: skip
_AGENTS = [
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/126.0.0.0 Safari/537.36", "Chrome 126.0.0", "Windows10"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.5 Safari/605.1.15", "Safari 17.5", "MacOs"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) Mobile/15E148", "Mobile Safari", "Ios"),
    ("Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17726; Pro)",
     "Outlook 16.0", "Windows10"),
]  # fmt: skip
_MARK = "\u00a7\u00a7"  # "§§": a placeholder that cannot occur in the template
_ASN_MARK = 987654321  # an AS number no record has, replaced per record


def _template(app: int, agent: int, code: int, interactive: bool) -> str:
    name, app_id, client = _APPS[app]
    ua, browser, os_name = _AGENTS[agent]
    record = signin_record(
        moment=datetime(2020, 1, 1, tzinfo=UTC),
        user=f"{_MARK}U",
        place=Place(f"{_MARK}I", f"{_MARK}C", f"{_MARK}Y", asn=_ASN_MARK),
        error_code=code,
        app=name,
        app_id=app_id,
        client_app=client,
        user_agent=ua,
        browser=browser,
        operating_system=os_name,
        interactive=interactive,
        record_id=f"{_MARK}R",
        display_name=f"{_MARK}N",
    )
    text = orjson.dumps(record).decode()
    text = text.replace("2020-01-01T00:00:00.0000000Z", f"{_MARK}T")
    text = text.replace("%", "%%")
    text = text.replace(str(_ASN_MARK), "%(asn)d")
    for key, fmt in (("U", "%(user)s"), ("I", "%(ip)s"), ("C", "%(country)s"), ("Y", "%(city)s"),
                     ("R", "%(rid)s"), ("N", "%(name)s"), ("T", "%(time)s")):  # fmt: skip
        text = text.replace(f"{_MARK}{key}", fmt)
    return text.replace(str(uuid.uuid5(uuid.NAMESPACE_URL, f"user:{_MARK}U")), "%(uid)s")


def generate(path: Path, records: int, seed: int = 20200910) -> None:
    """Write ``records`` diagnostic-format sign-ins: ~20,000 users of 40 orgs over 14 days.

    Each person signs in from their home address, their organisation's office NAT or its
    carrier's shared mobile addresses, as real staff do. Like real Entra records, each carries
    the AS number Microsoft saw (a broadband or mobile operator of the person's country).
    """
    rng = random.Random(seed)
    templates = {
        (a, g, c, i): _template(a, g, c, i)
        for a in range(len(_APPS))
        for g in range(len(_AGENTS))
        for c in sorted(set(_CODES))
        for i in (True, False)
    }
    users = [f"user{n:05d}@org{n % 40:02d}.example" for n in range(20_000)]
    uids = [str(uuid.uuid5(uuid.NAMESPACE_URL, f"user:{u}")) for u in users]
    # (country, city, broadband AS, mobile AS): Comcast/T-Mobile US, Verizon/T-Mobile US,
    # Deutsche Telekom/Vodafone DE, BT/EE, Orange/SFR, KPN/Vodafone NL.
    places = [("US", "Washington", 7922, 21928), ("US", "New York", 701, 21928),
              ("DE", "Berlin", 3320, 3209), ("GB", "London", 2856, 12576),
              ("FR", "Paris", 3215, 15557), ("NL", "Amsterdam", 1136, 33915)]  # fmt: skip
    start = datetime(2020, 9, 1, tzinfo=UTC).timestamp()
    span = timedelta(days=14).total_seconds()
    with path.open("wb", buffering=8 << 20) as out:
        chunk: list[str] = []
        for n in range(records):
            u = rng.randrange(len(users))
            moment = datetime.fromtimestamp(start + rng.random() * span, UTC)
            country, city, broadband, mobile = places[u % len(places)]
            key = (u % len(_APPS), u % len(_AGENTS), rng.choice(_CODES), rng.random() < 0.6)
            where = rng.random()
            org = u % 40
            if where < 0.5:
                ip = f"198.18.{org}.10"  # the office NAT
            elif where < 0.8:
                ip = f"{(u * 7) % 200 + 11}.{u % 251}.{(u // 251) % 256}.{(u % 250) + 1}"  # home
            else:
                ip = f"100.64.{org}.{rng.randrange(1, 9)}"  # carrier CGNAT
            asn = mobile if where >= 0.8 else broadband
            values = {
                "user": users[u],
                "uid": uids[u],
                "name": f"User {u:05d}",
                "ip": ip,
                "country": country,
                "city": city,
                "asn": asn,
                "rid": f"{n:08x}-{u:04x}-4{n % 4096:03x}-8000-{rng.getrandbits(48):012x}",
                "time": moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}0Z",
            }
            chunk.append(templates[key] % values)
            if len(chunk) >= 50_000:
                out.write(("\n".join(chunk) + "\n").encode())
                chunk = []
        if chunk:
            out.write(("\n".join(chunk) + "\n").encode())


def warm_page_cache(paths: list[Path]) -> None:
    """Read files once, untimed, so every timed pass finds them in memory: otherwise the pass
    that runs first pays the disk for those after it (the lake or log may have been evicted
    by whatever ran before the benchmark)."""
    for path in paths:
        with path.open("rb", buffering=0) as f:
            while f.read(16 << 20):
                pass


def run_child(argv: list[str]) -> tuple[float, float, int]:
    """Run a command; return (seconds, peak RSS in GB, exit status)."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    return seconds, usage.ru_maxrss / (1024 * 1024), os.waitstatus_to_exitcode(status)


_RAW = """
import duckdb, sys
con = duckdb.connect()
query = {query!r}
rows = con.execute(query, [sys.argv[1]]).fetchall()
print(sum(r[1] for r in rows))
"""
_AUTO = (
    "SELECT properties.status.errorCode, count(*) FROM read_json(?, format='newline_delimited') "
    "GROUP BY 1"
)
_DECLARED = (
    "SELECT properties.status.errorCode, count(*) FROM read_json(?, format='newline_delimited', "
    "columns={'properties': 'STRUCT(status STRUCT(errorCode BIGINT))'}) GROUP BY 1"
)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--records", type=int, default=2_000_000)
    parser.add_argument("--workdir", type=Path, default=HERE / "out")
    parser.add_argument("--keep", action="store_true", help="keep the generated file and lake")
    args = parser.parse_args()
    work: Path = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    # The generator version is in the name, so a file from an older generator is not reused.
    data = work / f"entra-diagnostic-{GENERATOR_VERSION}-{args.records}.ndjson"
    if not data.exists():
        print(f"generating {args.records:,} records → {data}", flush=True)
        t = time.perf_counter()
        generate(data, args.records)
        print(
            f"  {data.stat().st_size / 1e9:.2f} GB in {time.perf_counter() - t:.1f} s", flush=True
        )
    lake, out = work / "lake", work / "scan-out"
    shutil.rmtree(lake, ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    tocsin = [sys.executable, "-m", "tocsin", "scan", str(data), "--data-dir", str(lake),
              "--out", str(out), "--quiet", "--no-progress"]  # fmt: skip
    warm_page_cache([data])
    scan_s, scan_gb, status = run_child(tocsin)
    if status != 0:
        print(f"tocsin scan failed with exit status {status}")
        return 1
    summary = orjson.loads((out / "scan.json").read_bytes())
    events = sum(summary["events_by_source"].values())
    shutil.rmtree(lake, ignore_errors=True)
    bare_s, _, status = run_child([*tocsin, "--no-enrich"])
    shutil.rmtree(lake, ignore_errors=True)
    if status != 0:
        print(f"tocsin scan --no-enrich failed with exit status {status}")
        return 1
    overhead = scan_s / bare_s - 1
    auto_s, _, s1 = run_child([sys.executable, "-c", _RAW.format(query=_AUTO), str(data)])
    declared_s, _, s2 = run_child([sys.executable, "-c", _RAW.format(query=_DECLARED), str(data)])
    if s1 or s2:
        print("the raw DuckDB pass failed")
        return 1
    rate = events / scan_s
    ratio = scan_s / auto_s
    print()
    print(f"records in file            {args.records:>12,}  ({data.stat().st_size / 1e9:.2f} GB)")
    print(f"events in the lake         {events:>12,}")
    print(f"tocsin scan                {scan_s:>12.1f} s   {rate:>10,.0f} events/s   "
          f"peak RSS {scan_gb:.2f} GB")  # fmt: skip
    print(f"raw DuckDB, auto-detect    {auto_s:>12.1f} s   {args.records / auto_s:>10,.0f} rows/s")
    print(
        f"raw DuckDB, declared cols  {declared_s:>12.1f} s   "
        f"{args.records / declared_s:>10,.0f} rows/s"
    )
    print(f"tocsin scan --no-enrich    {bare_s:>12.1f} s   enrichment adds {overhead:+.0%}")
    print(f"ratio scan / raw (auto)    {ratio:>12.2f}×   (declared: {scan_s / declared_s:.2f}×)")
    stages = summary.get("timings", {})
    if stages:
        print("stages of the enriched scan " + ", ".join(
            f"{k} {float(v):.1f} s" for k, v in stages.items() if isinstance(v, int | float)
        ))  # fmt: skip
    print(f"alerts                     {sum(summary['alerts_by_severity'].values()):>12,}")
    checks = [
        (f"≥ {TARGET_RATE:,} events/s", rate >= TARGET_RATE),
        (f"within {TARGET_RATIO:.0f}× of raw DuckDB", ratio <= TARGET_RATIO),
        (f"enrichment adds ≤ {TARGET_ENRICH_OVERHEAD:.0%}", overhead <= TARGET_ENRICH_OVERHEAD),
    ]
    if args.records >= 5_000_000:
        checks.append((f"peak RSS ≤ {TARGET_RSS_GB:.0f} GB", scan_gb <= TARGET_RSS_GB))
    for label, ok in checks:
        print(f"  {'PASS' if ok else 'FAIL'}  {label}")
    if not args.keep:
        shutil.rmtree(lake, ignore_errors=True)
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
