"""OpenSSH server logs: the real loghub samples in ../shared/data/identity, plus small fixtures."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import random
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.helpers import IDENTITY, ingest_paths
from tocsin import sources
from tocsin.sources import sshd
from tocsin.sources._io import classify, read_head
from tocsin.sources.base import ReadOptions, RecordError, Skip

SSHD_DIR = IDENTITY / "linux_sshd"
OPENSSH = SSHD_DIR / "loghub_OpenSSH_2k.log"
OPENSSH_CSV = SSHD_DIR / "loghub_OpenSSH_2k.log_structured.csv"
TEMPLATES = SSHD_DIR / "loghub_OpenSSH_2k.log_templates.csv"
LINUX = SSHD_DIR / "loghub_Linux_2k.log"

OPENSSH_SKIPS = {
    sshd.PAM_NOTE: 629,  # 494 pam_unix(sshd:auth) failures + 135 'check pass; user unknown'
    sshd.CONNECTION: 502,
    sshd.INVALID_NOTICE: 226,  # 113 'Invalid user' + 113 'input_userauth_request'
    sshd.DNS: 85,
    sshd.SUMMARY: 20,
    sshd.PROTOCOL: 11,
    sshd.NONE_PROBE: 4,
    sshd.SESSION: 2,
}


def _write(path: Path, *lines: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = b"".join((x if isinstance(x, bytes) else x.encode()) + b"\n" for x in lines)
    path.write_bytes(data)
    return path


def _details(event: dict[str, object]) -> dict[str, object]:
    return json.loads(str(event["details"]))


# -- the real samples -----------------------------------------------------------------------


def test_openssh_sample(tmp_path: Path) -> None:
    text = OPENSSH.read_text()
    assert text.count("Failed password") == 520  # 518 lines + 2 'message repeated 5 times'
    got = ingest_paths(tmp_path, OPENSSH, options=ReadOptions(year=2015))
    report = got.report(OPENSSH.name)
    assert (report.format, report.records, report.events, report.rejected) == (
        "sshd_syslog", 2000, 529, 0,
    )  # fmt: skip
    assert dict(report.skipped) == OPENSSH_SKIPS
    assert report.events + sum(OPENSSH_SKIPS.values()) - 8 == 2000  # 2 lines hold 10 attempts
    kinds = Counter((e["action"], e["outcome"], e["reason"]) for e in got.events)
    assert kinds == {
        ("Failed password", "failure", "bad_password"): 393,
        ("Failed password", "failure", "unknown_user"): 135,
        ("Accepted password", "success", "ok"): 1,
    }
    assert Counter(e["src_ip"] for e in got.events).most_common(1) == [("183.62.140.253", 286)]
    assert Counter(e["user"] for e in got.events).most_common(1) == [("root", 378)]
    assert {(e["source"], e["app"], e["tenant"], e["user_type"]) for e in got.events} == {
        ("sshd", "sshd", "LabSZ", "member")
    }
    assert all(e["time"].year == 2015 and e["time"].month == 12 for e in got.events)
    assert len({e["event_id"] for e in got.events}) == 529

    first = got.events[0]  # line 6: Failed password for invalid user webmaster
    assert first["origin_line"] == 6
    assert first["time"] == datetime(2015, 12, 10, 6, 55, 48, tzinfo=UTC)
    assert (first["user"], first["src_ip"], first["client_app"]) == (
        "webmaster", "173.234.31.186", "password",
    )  # fmt: skip
    assert (first["reason_code"], first["credential_valid"]) == ("Failed invalid user", False)
    assert first["correlation_id"] == "LabSZ sshd[24200]"
    assert _details(first)["src_port"] == 38926 and _details(first)["invalid_user"] is True

    (ok,) = [e for e in got.events if e["outcome"] == "success"]
    assert (ok["user"], ok["credential_valid"], ok["client_app"]) == ("fztu", True, "password")

    # 'Invalid user  0101' (two spaces): the name is kept, trimmed by the wrapper
    assert any(e["user"] == "0101" for e in got.events)


def test_openssh_year_defaults_to_file_mtime(tmp_path: Path) -> None:
    got = ingest_paths(tmp_path, OPENSSH)
    mtime = datetime.fromtimestamp(OPENSSH.stat().st_mtime, UTC)
    expected = mtime.year - 1 if mtime.month < 12 else mtime.year  # the sample is December
    assert {e["time"].year for e in got.events} == {expected}


def test_message_repeated_is_n_attempts(tmp_path: Path) -> None:
    got = ingest_paths(tmp_path, OPENSSH, options=ReadOptions(year=2015))
    repeated = [e for e in got.events if _details(e)["repeat"] is not None]
    assert len(repeated) == 10
    first = [e for e in repeated if e["src_ip"] == "5.36.59.76"]
    assert sorted(_details(e)["repeat"] for e in first) == ["1/5", "2/5", "3/5", "4/5", "5/5"]
    line = next(
        n
        for n, text in enumerate(OPENSSH.read_text().splitlines(), 1)
        if "message repeated 5 times: [ Failed password for root from 5.36.59.76" in text
    )
    assert {e["origin_line"] for e in first} == {line}
    assert len({e["event_id"] for e in first}) == 5
    assert {(e["user"], e["reason"]) for e in first} == {("root", "bad_password")}


def test_structured_csv_gives_the_same_event_ids(tmp_path: Path) -> None:
    from_log = ingest_paths(tmp_path, OPENSSH)
    assert from_log.result.commit.added == 529
    from_csv = ingest_paths(tmp_path, OPENSSH_CSV)
    report = from_csv.report(OPENSSH_CSV.name)
    assert (report.format, report.records, report.events, report.rejected) == (
        "sshd_loghub_csv", 2000, 529, 0,
    )  # fmt: skip
    assert dict(report.skipped) == OPENSSH_SKIPS
    assert from_csv.result.commit.added == 0 and from_csv.result.commit.duplicates == 529
    again = ingest_paths(tmp_path, OPENSSH)
    assert again.result.commit.added == 0


def test_loghub_template_list_is_recognised_and_skipped(tmp_path: Path) -> None:
    got = ingest_paths(tmp_path, TEMPLATES)
    report = got.report(TEMPLATES.name)
    assert (report.format, report.records, report.events, report.rejected) == (
        "loghub_templates", 27, 0, 0,
    )  # fmt: skip
    assert dict(report.skipped) == {sshd.TEMPLATES: 27}


def test_linux_sample_old_pam_lines(tmp_path: Path) -> None:
    got = ingest_paths(tmp_path, LINUX, options=ReadOptions(year=2005))
    report = got.report(LINUX.name)
    assert (report.format, report.records, report.events, report.rejected) == (
        "sshd_syslog", 2000, 489, 0,
    )  # fmt: skip
    assert Counter(e["reason"] for e in got.events) == {"bad_password": 372, "unknown_user": 117}
    assert all(e["action"] == "PAM authentication failure" for e in got.events)
    assert all((e["user"] is None) == (e["reason"] == "unknown_user") for e in got.events)
    skipped = dict(report.skipped)
    assert skipped.pop(sshd.OLD_USER_UNKNOWN) == 116
    assert skipped.pop(sshd.SESSION) == 72
    assert skipped.pop("not an sshd message (program ftpd)") == 916
    assert skipped.pop("not an sshd message (program su(pam_unix))") == 172
    assert skipped.pop("not an sshd message (program syslogd)") == 7  # 'syslogd 1.4.1: restart.'
    assert skipped.pop("not an sshd message (program --)") == 1  # '-- root[2421]: ROOT LOGIN'
    assert all(r.startswith("not an sshd message (program ") for r in skipped)
    assert report.events + sum(report.skipped.values()) == 2000

    first = got.events[0]
    assert first["time"] == datetime(2005, 6, 14, 15, 16, 1, tzinfo=UTC)
    assert (first["tenant"], first["src_ip"], first["reason"]) == (
        "combo",
        "218.188.2.4",
        "unknown_user",
    )
    by_host = [e for e in got.events if e["src_host"] == "220-135-151-1.hinet-ip.hinet.net"]
    assert len(by_host) >= 10
    assert all(e["src_ip"] is None and e["user"] == "root" for e in by_host)
    assert all(e["reason"] == "bad_password" and e["credential_valid"] is False for e in by_host)


def test_linux_structured_csv_layout(tmp_path: Path) -> None:
    lines = LINUX.read_text().splitlines()[:120]
    table = tmp_path / "in" / "Linux_2k.log_structured.csv"
    table.parent.mkdir()
    with table.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["LineId", "Month", "Date", "Time", "Level", "Component", "PID", "Content",
                      "EventId", "EventTemplate"])  # fmt: skip
        for n, line in enumerate(lines, 1):
            mon, day, clock, host, rest = line.split(None, 4)
            tag, _, content = rest.partition(": ")
            program, _, pid = tag.rstrip("]").partition("[")
            out.writerow([n, mon, day, clock, host, program, pid, content.rstrip(), "E1", "x"])
    log = _write(tmp_path / "in" / "messages", *lines)
    options = ReadOptions(year=2005)
    from_log = ingest_paths(tmp_path / "a", log, options=options)
    from_csv = ingest_paths(tmp_path / "b", table, options=options)
    assert from_csv.report(table.name).format == "sshd_loghub_csv"
    assert from_log.result.commit.added == from_csv.result.commit.added > 0
    assert [e["event_id"] for e in from_log.events] == [e["event_id"] for e in from_csv.events]


# -- fixtures -----------------------------------------------------------------------------------


def test_iso_timestamps_keep_their_offset(tmp_path: Path) -> None:
    log = _write(
        tmp_path / "in" / "journal.log",
        "-- Journal begins at Fri 2024-03-01 08:00:00 CET, ends at Fri 2024-03-01 11:00:00 CET. --",
        "2024-03-01T10:00:00.123456+01:00 bastion sshd[123]: Failed password for root from "
        "198.51.100.7 port 5555 ssh2",
        "2024-03-01T10:00:05+0100 bastion sshd-session[124]: Accepted publickey for ana from "
        "2001:db8::7 port 50122 ssh2: ED25519 SHA256:Zm9vYmFy",
        "2024-03-01T10:00:06Z bastion sshd[125]: Partial publickey for bob from 198.51.100.8 "
        "port 1 ssh2: RSA SHA256:YmFy",
        '<38>1 2024-03-01T10:00:07.5-05:00 bastion sshd 126 - [meta x="a]b"] Failed '
        "keyboard-interactive/pam for invalid user carol from 198.51.100.9 port 2 ssh2",
    )
    got = ingest_paths(tmp_path / "lake", log)
    assert got.report(log.name).format == "sshd_syslog"
    assert dict(got.report(log.name).skipped) == {sshd.JOURNAL_BANNER: 1}
    a, b, c, d = got.events
    assert a["time"] == datetime(2024, 3, 1, 9, 0, 0, 123456, tzinfo=UTC)
    assert (a["tenant"], a["user"], a["reason"]) == ("bastion", "root", "bad_password")
    assert b["time"] == datetime(2024, 3, 1, 9, 0, 5, tzinfo=UTC)
    assert (b["src_ip"], b["client_app"], b["outcome"]) == ("2001:db8::7", "publickey", "success")
    assert b["reason_detail"] == "ED25519 SHA256:Zm9vYmFy"
    assert b["correlation_id"] == "bastion sshd-session[124]"
    assert (c["outcome"], c["reason"], c["credential_valid"]) == ("challenge", "mfa_required", True)
    assert d["time"] == datetime(2024, 3, 1, 15, 0, 7, 500000, tzinfo=UTC)
    assert (d["user"], d["reason"], d["client_app"]) == (
        "carol", "unknown_user", "keyboard-interactive/pam",
    )  # fmt: skip


def test_classic_lines_use_the_given_year_and_zone(tmp_path: Path) -> None:
    line = "Jul  1 12:00:00 host sshd[1]: Failed password for root from 192.0.2.1 port 22 ssh2"
    log = _write(tmp_path / "in" / "auth.log", line)
    got = ingest_paths(tmp_path / "a", log, options=ReadOptions(year=2020))
    assert got.events[0]["time"] == datetime(2020, 7, 1, 12, 0, tzinfo=UTC)
    got = ingest_paths(tmp_path / "b", log, options=ReadOptions(year=2020, timezone="+02:00"))
    assert got.events[0]["time"] == datetime(2020, 7, 1, 10, 0, tzinfo=UTC)
    try:
        berlin = ReadOptions(year=2020, timezone="Europe/Berlin")
        sshd.prepare_syslog(line, berlin)
    except RecordError:
        pytest.skip("no IANA time zone database on this machine")
    winter = _write(tmp_path / "in2" / "auth.log", line.replace("Jul  1", "Jan  1"), line)
    got = ingest_paths(tmp_path / "c", winter, options=berlin)
    assert [e["time"].hour for e in got.events] == [11, 10]  # CET +1, CEST +2


def test_rotated_log_spanning_new_year_takes_the_year_from_mtime(tmp_path: Path) -> None:
    log = _write(
        tmp_path / "in" / "auth.log.1",
        "Dec 31 23:59:58 host sshd[7]: Failed password for root from 192.0.2.1 port 22 ssh2",
        "Jan  1 00:00:03 host sshd[7]: Failed password for root from 192.0.2.1 port 22 ssh2",
    )
    stamp = datetime(2021, 1, 2, 6, 25, tzinfo=UTC).timestamp()
    os.utime(log, (stamp, stamp))
    got = ingest_paths(tmp_path / "lake", log)
    assert [e["time"] for e in got.events] == [
        datetime(2020, 12, 31, 23, 59, 58, tzinfo=UTC),
        datetime(2021, 1, 1, 0, 0, 3, tzinfo=UTC),
    ]


def test_unreadable_lines_are_located_rejects(tmp_path: Path) -> None:
    good = "Mar  3 10:00:00 host sshd[9]: Failed password for root from 192.0.2.1 port 22 ssh2"
    log = _write(
        tmp_path / "in" / "auth.log",
        good,
        "this is not syslog at all",
        b"Mar  3 10:00:01 host sshd[9]: Failed password for r\xffot from 192.0.2.1 port 22 ssh2",
        "Feb 30 10:00:02 host sshd[9]: Failed password for root from 192.0.2.1 port 22 ssh2",
        "Mar  3 10:00:03 host sshd[9]: Failed password for root from 192.0.2.1 port 23 ssh2",
    )
    got = ingest_paths(tmp_path / "lake", log, options=ReadOptions(year=2021))
    report = got.report(log.name)
    # the invalid UTF-8 line is rejected by the text reader, before it counts as a record
    assert (report.records, report.events, report.rejected) == (4, 2, 3)
    by_line = {r.line: r.reason for r in got.rejects.kept}
    assert set(by_line) == {2, 3, 4}
    assert by_line[2].startswith("not a syslog line")
    assert "UTF-8" in by_line[3]
    assert "invalid syslog timestamp" in by_line[4]
    assert [e["origin_line"] for e in got.events] == [1, 5]


@pytest.mark.parametrize(
    ("message", "reason", "valid"),
    [
        ("Failed keyboard-interactive/pam for root from 192.0.2.1 port 1 ssh2",
         "bad_password", "false"),
        ("Failed publickey for root from 192.0.2.1 port 1 ssh2: RSA SHA256:abc", "other", "false"),
        ("Failed publickey for invalid user oracle from 192.0.2.1 port 1 ssh2: RSA SHA256:abc",
         "unknown_user", "false"),
        ("Failed password for illegal user test from 192.0.2.1 port 1", "unknown_user", "false"),
        ("Accepted gssapi-with-mic for ana from 192.0.2.1 port 1 ssh2", "ok", "true"),
    ],
)  # fmt: skip
def test_methods(message: str, reason: str, valid: str) -> None:
    got = sshd.prepare_syslog(f"Mar  3 10:00:00 host sshd[9]: {message}", ReadOptions(year=2021))
    assert isinstance(got, dict)
    assert (got["reason"], got["valid"]) == (reason, valid)
    assert got["action"] == " ".join(message.split()[:2])


def test_user_name_imitating_the_layout_is_rejected_not_guessed(tmp_path: Path) -> None:
    forged = (
        "Mar  3 10:00:00 host sshd[9]: Failed password for invalid user x from 203.0.113.66 "
        "port 22 ssh2 from 192.0.2.1 port 4242 ssh2"
    )
    with pytest.raises(RecordError, match="ambiguous"):
        sshd.prepare_syslog(forged, ReadOptions(year=2021))
    spaced = sshd.prepare_syslog(
        "Mar  3 10:00:00 host sshd[9]: Failed password for invalid user a b from 192.0.2.1 "
        "port 4242 ssh2",
        ReadOptions(year=2021),
    )
    assert isinstance(spaced, dict)
    assert (spaced["user"], spaced["src"], spaced["port"]) == ("a b", "192.0.2.1", "4242")


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("Failed none for invalid user admin from 192.0.2.1 port 1 ssh2", sshd.NONE_PROBE),
        ("Postponed keyboard-interactive for root from 192.0.2.1 port 1 ssh2 [preauth]",
         sshd.POSTPONED),
        ("Invalid user admin from 192.0.2.1 port 1", sshd.INVALID_NOTICE),
        ("User root from 192.0.2.1 not allowed because listed in DenyUsers", sshd.REFUSED_NOTICE),
        ("error: maximum authentication attempts exceeded for root from 192.0.2.1 port 1 ssh2 "
         "[preauth]", sshd.SUMMARY),
        ("Disconnecting authenticating user root 192.0.2.1 port 1: Too many authentication "
         "failures [preauth]", sshd.SUMMARY),
        ("error: PAM: Authentication failure for root from 192.0.2.1", sshd.PAM_NOTE),
        ("pam_sss(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= "
         "rhost=192.0.2.1 user=root", sshd.PAM_NOTE),
        ("Connection closed by authenticating user root 192.0.2.1 port 1 [preauth]",
         sshd.CONNECTION),
        ("message repeated 2 times: [ Connection closed by 192.0.2.1 port 1 [preauth]]",
         sshd.CONNECTION),
        ("Accepted key RSA SHA256:abc found at /root/.ssh/authorized_keys:1", sshd.KEY_NOTICE),
        ("Server listening on 0.0.0.0 port 22.", sshd.DAEMON),
        ("Something new from a future OpenSSH", sshd.UNRECOGNISED),
    ],
)  # fmt: skip
def test_message_catalogue(message: str, reason: str) -> None:
    got = sshd.prepare_syslog(f"Mar  3 10:00:00 host sshd[9]: {message}", ReadOptions(year=2021))
    assert got == Skip(reason)


def test_other_programs_and_sysklogd_repeats_are_skipped() -> None:
    options = ReadOptions(year=2021)
    assert sshd.prepare_syslog("Mar  3 10:00:00 host su[1]: pam_unix(su:auth): x", options) == (
        Skip("not an sshd message (program su)")
    )
    assert sshd.prepare_syslog("Mar  3 10:00:00 host last message repeated 3 times", options) == (
        Skip(sshd.LAST_REPEATED)
    )
    hostless = sshd.prepare_syslog(
        "Mar  3 10:00:00 /usr/sbin/sshd[4]: Accepted password for ana from 192.0.2.1 port 1 ssh2",
        options,
    )
    assert isinstance(hostless, dict) and hostless["host"] is None and hostless["user"] == "ana"


def test_sniffing_finds_sshd_beyond_the_first_lines(tmp_path: Path) -> None:
    noise = [f"Mar  3 10:00:{i:02d} host kernel: [  {i}.0] usb 1-1: new device" for i in range(50)]
    attempt = "Mar  3 10:01:00 host sshd[9]: Failed password for root from 192.0.2.1 port 1 ssh2"
    log = _write(tmp_path / "messages", *noise, attempt)
    head = classify(read_head(log))
    assert head is not None
    assert sources.detect(head) is sshd.SSHD_SYSLOG
    assert sshd.SSHD_SYSLOG.sniff(head) == 80
    plain = _write(tmp_path / "kern.log", *noise)
    head = classify(read_head(plain))
    assert head is not None and sshd.SSHD_SYSLOG.sniff(head) == 15
    prose = _write(tmp_path / "notes.txt", "Dear team,", "sshd[1]: is what we grep for.")
    head = classify(read_head(prose))
    assert head is not None and sshd.SSHD_SYSLOG.sniff(head) == 0
    for sample, fmt in [
        (OPENSSH, sshd.SSHD_SYSLOG),
        (LINUX, sshd.SSHD_SYSLOG),
        (OPENSSH_CSV, sshd.SSHD_LOGHUB_CSV),
        (TEMPLATES, sshd.LOGHUB_TEMPLATES),
    ]:
        head = classify(read_head(sample))
        assert head is not None and sources.detect(head) is fmt, sample.name  # fmt: skip


def test_prepare_raises_nothing_but_record_error() -> None:
    rng = random.Random(20240301)  # noqa: S311 - reproducible fuzzing, not cryptography
    seeds = OPENSSH.read_text().splitlines()[:200] + LINUX.read_text().splitlines()[:200]
    alphabet = ' :[]()<>=-0123456789abcdefADFPJ\t\\"\ufeff'
    options = [ReadOptions(), ReadOptions(year=0), ReadOptions(timezone="No/Where"),
               ReadOptions(file_mtime=1e30), ReadOptions(year=2024, timezone="-11:30")]  # fmt: skip
    for i in range(4000):
        line = list(rng.choice(seeds))
        for _ in range(rng.randint(1, 6)):
            pos = rng.randrange(len(line) + 1)
            if rng.random() < 0.5 and line:
                del line[min(pos, len(line) - 1)]
            else:
                line.insert(pos, rng.choice(alphabet))
        with contextlib.suppress(RecordError):
            sshd.prepare_syslog("".join(line), options[i % len(options)])
        row = {"Date": rng.choice(["Dec", "Feb", "", None]), "Day": rng.choice(["10", "31", "x"]),
               "Time": "06:55:46", "Component": rng.choice(["LabSZ", None, "a b"]),
               "Pid": rng.choice(["1", "", None, "x"]), "Content": "".join(line)}  # fmt: skip
        with contextlib.suppress(RecordError):
            sshd.prepare_loghub(row, options[i % len(options)])


def test_unknown_time_zone_is_a_located_reject_not_a_crash() -> None:
    line = "Mar  3 10:00:00 host sshd[9]: Failed password for root from 192.0.2.1 port 22 ssh2"
    with pytest.raises(RecordError, match="unknown time zone 'No/Where'"):
        sshd.prepare_syslog(line, ReadOptions(year=2021, timezone="No/Where"))
    iso = "2021-03-03T10:00:00+01:00 host sshd[9]: Accepted password for ana from ::1 port 2 ssh2"
    event = sshd.prepare_syslog(iso, ReadOptions(timezone="No/Where"))  # carries its offset
    assert isinstance(event, dict) and event["ts"] == "2021-03-03T10:00:00+01:00"
