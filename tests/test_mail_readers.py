"""Reading mail safely: .eml, mbox, Maildir, .msg; and the limits that keep hostile input cheap.

Every hostile message must come out with a verdict and a parse warning, never an exception,
and in bounded time.
"""

from __future__ import annotations

import base64
import time
from pathlib import Path

import orjson
import pytest

from tests.test_mail_detectors import build, judge
from tocsin.mail import read_messages, sniff
from tocsin.mail.parse import MAX_DEPTH, MAX_PARTS, parse_message
from tocsin.mail.reader import RawMessage
from tocsin.mail.run import scan_sources


def _one(path: Path) -> list[RawMessage]:
    kind = sniff(path)
    assert kind is not None
    return list(read_messages(path, kind))


# --- formats --------------------------------------------------------------------------------


def test_eml_is_recognised_by_content(tmp_path: Path) -> None:
    path = tmp_path / "no-extension"
    path.write_bytes(build(subject="Hello"))
    assert sniff(path) == "eml"
    (message,) = _one(path)
    assert message.index is None and message.format == "eml"
    notes = tmp_path / "notes.txt"
    notes.write_text("Shopping list:\nmilk\neggs\n")
    assert sniff(notes) is None


def test_mbox_messages_keep_their_index(tmp_path: Path) -> None:
    mbox = tmp_path / "inbox"
    with mbox.open("wb") as f:
        for number in range(3):
            f.write(b"From alice@example.org Tue Nov 25 10:00:00 2026\n")
            body = f"Message {number}\n>From the archive: quoted line\n".encode()
            f.write(build(subject=f"Number {number}", text=body.decode()))
            f.write(b"\n")
    assert sniff(mbox) == "mbox"
    messages = _one(mbox)
    assert [m.index for m in messages] == [0, 1, 2]
    assert all(m.format == "mbox" for m in messages)
    last = judge(messages[2].data)
    assert last.parsed.subject == "Number 2"
    assert "From the archive" in last.parsed.texts[0]  # ">From " unquoted one level


def test_maildir_reads_new_and_cur_not_tmp(tmp_path: Path) -> None:
    box = tmp_path / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (box / sub).mkdir(parents=True)
    (box / "new" / "1.host").write_bytes(build(subject="new one"))
    (box / "cur" / "2.host:2,S").write_bytes(build(subject="read one"))
    (box / "tmp" / "3.host").write_bytes(build(subject="still arriving"))
    assert sniff(box) == "maildir"
    subjects = sorted(judge(m.data).parsed.subject for m in _one(box))
    assert subjects == ["new one", "read one"]


def test_a_broken_outlook_msg_gets_a_verdict_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "message.msg"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)  # OLE magic, no body
    assert sniff(path) == "msg"
    (raw,) = _one(path)
    assert raw.error and raw.data == b""
    _, total, summary = scan_sources([path], data_dir=None, out_dir=tmp_path / "out", config=None)
    assert total == 1 and summary["sources"][0]["unreadable"] == 1
    line = orjson.loads((tmp_path / "out" / "messages.jsonl").read_bytes())
    assert line["verdict"] in ("phish", "suspicious", "clean") and line["warnings"]


def test_messages_jsonl_names_the_mbox_index(tmp_path: Path) -> None:
    mbox = tmp_path / "box.mbox"
    with mbox.open("wb") as f:
        for number in range(2):
            f.write(b"From MAILER-DAEMON Tue Nov 25 10:00:00 2026\n")
            f.write(build(subject=f"s{number}") + b"\n")
    out = tmp_path / "out"
    scan_sources([mbox], data_dir=None, out_dir=out, config=None)
    lines = [orjson.loads(line) for line in (out / "messages.jsonl").read_bytes().splitlines()]
    assert [line["origin"]["index"] for line in lines] == [0, 1]
    assert all(line["origin"]["file"] == str(mbox) for line in lines)


# --- limits: hostile structure ------------------------------------------------------------------


def _nested(depth: int) -> bytes:
    head = "From: a@example.org\nTo: b@example.net\nSubject: deep\nMIME-Version: 1.0\n"
    body = "innermost text\n"
    for level in range(depth):
        boundary = f"b{level}"
        body = (
            f'Content-Type: multipart/mixed; boundary="{boundary}"\n\n'
            f"--{boundary}\n{body}\n--{boundary}--\n"
        )
    return (head + body).encode()


@pytest.mark.parametrize("depth", [MAX_DEPTH + 5, 3000])
def test_deep_nesting_is_cut_with_a_warning(depth: int) -> None:
    started = time.perf_counter()
    report = judge(_nested(depth))
    assert time.perf_counter() - started < 10
    assert "nesting" in report.parsed.limits_hit
    assert any("nesting" in w or "deep" in w for w in report.parsed.warnings)
    assert report.verdict != "clean"  # content past the limit was not analysed
    assert "scanner_evasion" in {r.code for r in report.reasons}


def test_ten_thousand_parts() -> None:
    parts = "".join(f"--x\nContent-Type: text/plain\n\npart {n}\n" for n in range(10_000))
    data = (
        "From: a@example.org\nTo: b@example.net\nSubject: many\nMIME-Version: 1.0\n"
        f'Content-Type: multipart/mixed; boundary="x"\n\n{parts}--x--\n'
    ).encode()
    started = time.perf_counter()
    report = judge(data)
    assert time.perf_counter() - started < 10
    assert "parts" in report.parsed.limits_hit
    assert report.parsed.parts <= MAX_PARTS + 1
    assert any("MIME parts" in w for w in report.parsed.warnings)
    assert report.verdict != "clean"


def test_huge_headers_are_cut() -> None:
    subject = "A" * (3 << 20)
    many = "".join(f"Received: from h{n}.example.org by mx.example.net; x\n" for n in range(50_000))
    data = f"From: a@example.org\nSubject: {subject}\n{many}\nbody\n".encode()
    started = time.perf_counter()
    report = judge(data)
    assert time.perf_counter() - started < 15
    assert "header size" in report.parsed.limits_hit
    assert len(report.parsed.subject) <= 998
    assert report.verdict in ("phish", "suspicious", "clean")


def test_broken_base64_gives_a_warning_not_a_crash() -> None:
    data = (
        b"From: a@example.org\nTo: b@example.net\nSubject: b64\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/mixed; boundary="z"\n\n--z\n'
        b"Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\n"
        b"SGVsbG8gd29y!!!bGQ=garbage===\n--z\n"
        b'Content-Type: application/pdf; name="a.pdf"\nContent-Transfer-Encoding: base64\n\n'
        b"JVBERi0xLjQK%%%\n--z--\n"
    )
    report = judge(data)
    assert report.verdict
    assert any("Defect" in w or "undecodable" in w for w in report.parsed.warnings)


@pytest.mark.parametrize(
    ("charset", "encoding", "payload"),
    [
        ("x-no-such-charset", "8bit", "caf\xe9 ol\xe9".encode("latin-1")),
        ("utf-8", "8bit", b"\xff\xfe not utf-8 \xc3"),  # declared UTF-8, is not
        ("utf-7", "7bit", b"Hi +AGEAYgBj-"),
        ("iso-2022-jp", "7bit", "こんにちは".encode("iso-2022-jp")),
        ("windows-1252", "quoted-printable", b"Caf=E9 =\nbroken=ZZ qp"),
        ("us-ascii", "x-uuencode", b"begin 644 a.txt\n#86)C\n`\nend\n"),
        ("us-ascii", "x-made-up-encoding", b"whatever"),
        ('"utf-8"; format=flowed', "base64", base64.b64encode("ok ✓".encode())),
    ],
)
def test_odd_charsets_and_transfer_encodings(charset: str, encoding: str, payload: bytes) -> None:
    data = (
        b"From: =?x-unknown?q?Odd?= <a@example.org>\nTo: b@example.net\n"
        b"Subject: =?utf-8?b?broken base64 word?= =?iso-8859-1?q?caf=E9?=\nMIME-Version: 1.0\n"
        + f"Content-Type: text/plain; charset={charset}\n".encode()
        + f"Content-Transfer-Encoding: {encoding}\n\n".encode()
        + payload
        + b"\n"
    )
    report = judge(data)
    assert report.verdict in ("phish", "suspicious", "clean")
    assert isinstance(report.parsed.subject, str) and "caf" in report.parsed.subject


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00" * 1000,
        bytes(range(256)) * 40,
        b"From: a@example.org\n",  # headers only, no blank line
        b"Content-Type: multipart/mixed\n\nno boundary parameter\n",
        b'Content-Type: multipart/mixed; boundary="q"\n\n--q\nContent-Type: text/html\n\n<a href',
        b"Content-Type: message/rfc822\n\n" * 200,
    ],
)
def test_junk_always_gets_a_verdict(data: bytes) -> None:
    report = judge(data)
    assert report.verdict in ("phish", "suspicious", "clean")
    assert 0.0 <= report.score <= 1.0


def test_parse_warnings_reach_messages_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "deep.eml"
    path.write_bytes(_nested(MAX_DEPTH + 3))
    out = tmp_path / "out"
    scan_sources([path], data_dir=None, out_dir=out, config=None)
    (line,) = [orjson.loads(x) for x in (out / "messages.jsonl").read_bytes().splitlines()]
    assert line["warnings"] and line["verdict"] != "clean"


def test_limits_are_reported_by_the_parser_itself() -> None:
    parsed = parse_message(_nested(MAX_DEPTH + 2))
    assert parsed.limits_hit == ["nesting"]


def test_a_failing_detector_does_not_stop_the_scan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tocsin.mail.detectors import lures

    def broken(view: object) -> list[object]:
        raise RuntimeError("detector bug")

    monkeypatch.setattr(lures, "detect", broken)
    for name in ("a.eml", "b.eml"):
        (tmp_path / name).write_bytes(build(subject=name))
    out = tmp_path / "out"
    _, total, _ = scan_sources(
        [tmp_path / "a.eml", tmp_path / "b.eml"], data_dir=None, out_dir=out, config=None
    )
    lines = [orjson.loads(x) for x in (out / "messages.jsonl").read_bytes().splitlines()]
    assert total == 2 and len(lines) == 2
    assert all("analysis failed: RuntimeError" in " ".join(x["warnings"]) for x in lines)
