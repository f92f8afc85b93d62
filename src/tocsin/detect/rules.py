"""Rules are data: a folder with ``rule.yml``, ``rule.sql`` (or ``rule.py``) and ``tests/``.

Loading validates every rule and collects every problem with its file, instead of stopping at
the first bad rule (as pySigma's ``collect_errors`` does); the CLI fails on any of them, so a
broken rule never ships silently.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

DETECTIONS_DIR = Path(__file__).resolve().parent.parent / "detections"

_TECHNIQUE = re.compile(r"^T\d{4}(\.\d{3})?$")
# Rules run on event time: a log from 2020 must replay as 2020, so wall-clock functions are
# refused at load time rather than discovered when a replay silently finds nothing.
_WALL_CLOCK = re.compile(
    r"\b(now|current_timestamp|current_date|get_current_timestamp|today|current_time)\b\s*\(?",
    re.IGNORECASE,
)
# Columns a rule's SQL must return; everything else becomes the alert's metrics.
REQUIRED_COLUMNS = ("group_key", "first_seen", "last_seen", "users", "evidence_count")


class Parameter(BaseModel):
    model_config = ConfigDict(extra="forbid")
    default: int | float | str | bool
    description: str
    minimum: float | None = None


class RuleMeta(BaseModel):
    """The contents of ``rule.yml``."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    status: Literal["stable", "experimental"] = "experimental"
    severity: Literal["low", "medium", "high", "critical"]
    confidence: float = Field(ge=0, le=1)
    techniques: list[str] = Field(min_length=1)
    description: str
    references: list[str] = Field(default_factory=list)
    false_positives: list[str] = Field(min_length=1)
    parameters: dict[str, Parameter] = Field(default_factory=dict)
    summary: str
    recommended_actions: list[str] = Field(min_length=1)
    # WHERE clause over `events` returning all evidence of one alert; {placeholders} are filled
    # from the alert row as SQL literals (so an attacker-chosen user name cannot break out).
    evidence: str
    # Rules whose alerts this rule's alerts absorb when they are about the same attack (same
    # organisation, overlapping time, a shared address or the same accounts): a campaign is
    # reported once, with what the narrower rules saw listed in it, not as dozens of alerts.
    supersedes: list[str] = Field(default_factory=list)

    @field_validator("techniques")
    @classmethod
    def _techniques(cls, value: list[str]) -> list[str]:
        bad = [t for t in value if not _TECHNIQUE.match(t)]
        if bad:
            raise ValueError(f"not ATT&CK technique ids: {bad}")
        return value


Refine = Callable[[dict[str, Any], dict[str, Any]], dict[str, Any] | None]
# Logic SQL cannot say well (e.g. clustering connected infrastructure) runs on the rule's
# already-aggregated rows, all at once.
Combine = Callable[[list[dict[str, Any]], dict[str, Any]], list[dict[str, Any]]]


@dataclass(slots=True)
class Rule:
    meta: RuleMeta
    folder: Path
    sql: str
    refine: Refine | None = None
    combine: Combine | None = None
    area: str = ""

    @property
    def id(self) -> str:
        return self.meta.id

    def params(self, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
        values = {name: p.default for name, p in self.meta.parameters.items()}
        for key, value in (overrides or {}).items():
            if key not in values:
                raise KeyError(f"rule {self.id} has no parameter {key!r}")
            values[key] = value
        return values

    @property
    def tests_dir(self) -> Path:
        return self.folder / "tests"


@dataclass(slots=True)
class RuleError:
    path: Path
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass(slots=True)
class RuleSet:
    rules: list[Rule] = field(default_factory=list)
    errors: list[RuleError] = field(default_factory=list)

    def get(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(f"no rule {rule_id!r}; known: {', '.join(r.id for r in self.rules)}")


def load_rules(root: Path = DETECTIONS_DIR) -> RuleSet:
    """Every rule folder under ``root`` (a folder holding ``rule.yml``), validated."""
    result = RuleSet()
    seen: dict[str, Path] = {}
    for meta_path in sorted(root.glob("**/rule.yml")):
        rule = _load_one(meta_path, result.errors)
        if rule is None:
            continue
        if rule.id in seen:
            result.errors.append(
                RuleError(meta_path, f"duplicate rule id {rule.id!r} (also {seen[rule.id]})")
            )
            continue
        seen[rule.id] = meta_path
        result.rules.append(rule)
    return result


def _load_one(meta_path: Path, errors: list[RuleError]) -> Rule | None:
    folder = meta_path.parent
    try:
        raw = yaml.safe_load(meta_path.read_text(encoding="utf-8"))
        meta = RuleMeta.model_validate(raw)
    except yaml.YAMLError as exc:
        errors.append(RuleError(meta_path, f"invalid YAML: {exc}"))
        return None
    except ValidationError as exc:
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "(top level)"
            errors.append(RuleError(meta_path, f"{where}: {err['msg']}"))
        return None
    if meta.id != folder.name:
        errors.append(RuleError(meta_path, f"id {meta.id!r} must equal the folder name"))
        return None
    sql_path = folder / "rule.sql"
    if not sql_path.is_file():
        errors.append(RuleError(folder, "rule.sql is missing"))
        return None
    sql = sql_path.read_text(encoding="utf-8")
    py_path = folder / "rule.py"
    py_text = py_path.read_text(encoding="utf-8") if py_path.is_file() else ""
    problems = _check_sql(sql, meta, py_text)
    errors.extend(RuleError(sql_path, p) for p in problems)
    refine = combine = None
    if py_path.is_file():
        try:
            module = _import(py_path, meta.id)
            refine = getattr(module, "refine", None)
            combine = getattr(module, "combine", None)
            if not callable(refine) and not callable(combine):
                message = "rule.py must define refine(row, params) or combine(rows, params)"
                errors.append(RuleError(py_path, message))
        except Exception as exc:  # a broken rule file is reported, not fatal to loading
            errors.append(RuleError(py_path, f"cannot import: {type(exc).__name__}: {exc}"))
    if not (folder / "tests").is_dir():
        errors.append(RuleError(folder, "tests/ is missing: a rule without tests is not done"))
    if problems:
        return None
    area = folder.parent.name
    return Rule(meta=meta, folder=folder, sql=sql, refine=refine, combine=combine, area=area)


def _check_sql(sql: str, meta: RuleMeta, py_text: str = "") -> list[str]:
    problems = []
    # Comments and string literals may say "now"; only code counts.
    code = re.sub(r"'(?:[^']|'')*'", "''", re.sub(r"--[^\n]*", "", sql))
    if _WALL_CLOCK.search(code):
        problems.append("uses wall-clock time; rules must work on event time only")
    for name in re.findall(r"\$([a-z_][a-z0-9_]*)", code):
        if name not in meta.parameters:
            problems.append(f"uses ${name}, which rule.yml does not declare under parameters")
    for name in meta.parameters:
        if f"${name}" not in code and f'"{name}"' not in py_text:
            problems.append(
                f"parameter {name} is declared but neither rule.sql nor rule.py uses it"
            )
    return problems


def _import(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"tocsin_rule_{name}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
