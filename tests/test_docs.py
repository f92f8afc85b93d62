"""Documentation kept true by tests: the event schema, the code table, every format."""

from __future__ import annotations

import re

from tests.helpers import REPO
from tocsin.events import EVENT_COLUMNS
from tocsin.sources import FORMATS
from tocsin.sources.entra_codes import ENTRA_CODES

DOCS = REPO / "docs"
EVENTS_MD = (DOCS / "events.md").read_text()


def test_every_event_column_is_documented() -> None:
    documented = set(re.findall(r"`([a-z_]+)`", EVENTS_MD.split("## Outcomes")[0]))
    assert [c for c in EVENT_COLUMNS if c not in documented] == []


def test_entra_code_table_matches_the_code() -> None:
    proof = {True: "yes", False: "no", None: "—"}
    for code in ENTRA_CODES:
        row = f"| {code.code} | {code.outcome} | {code.reason} | {proof[code.credential_valid]} |"
        assert row in EVENTS_MD, row


def test_every_format_is_documented_with_its_name() -> None:
    pages = EVENTS_MD + "".join(p.read_text() for p in (DOCS / "sources").glob("*.md"))
    assert [f.name for f in FORMATS if f"`{f.name}`" not in pages] == []


def test_readme_opens_with_the_two_commands() -> None:
    readme = (REPO / "README.md").read_text()
    block = readme.split("```sh", 1)[1].split("```", 1)[0].strip().splitlines()
    assert [line.split("#")[0].strip() for line in block] == ["make demo", "make test"]
