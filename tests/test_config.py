"""tocsin.toml: validated, every problem reported with its key and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import REPO
from tocsin.config import ConfigError, load_config


def test_example_config_is_valid() -> None:
    config = load_config(REPO / "tocsin.example.toml")
    org = config.organisation("harper2020")
    assert org.egress == ["203.0.113.10/32"]
    person = config.person_by_account("CHLOE@harper2020.example")
    assert person is not None and config.language_of(person) == "fr"
    assert config.response.mode == "simulate"


def test_every_problem_is_reported_with_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "tocsin.toml"
    bad.write_text(
        '[[organisations]]\nid = "ok"\nname = "A"\n\n'
        '[[organisations]]\nid = "Bad Id"\nname = "B"\negress = ["not-a-network"]\n\n'
        '[[people]]\nname = "X"\norganisation = "ok"\naccounts = ["x@a.example"]\n'
        'language = "klingon"\n\n'
        '[response]\nmode = "yolo"\n'
    )
    with pytest.raises(ConfigError) as caught:
        load_config(bad)
    found = {(p.path, p.line) for p in caught.value.problems}
    assert ("organisations[1].id", 6) in found
    assert ("organisations[1].egress[0]", 8) in found
    assert ("people[0].language", 14) in found
    assert ("response.mode", 17) in found


def test_syntax_errors_name_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "tocsin.toml"
    bad.write_text('[[organisations]]\nid = "a"\nname = \n')
    with pytest.raises(ConfigError) as caught:
        load_config(bad)
    assert caught.value.problems[0].line == 3
