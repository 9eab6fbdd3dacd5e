"""solidify.yaml: price overrides, thresholds and cheaper models, all optional.

Found as `solidify.yaml` in the working folder, or given with --config.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from solidify.assess.rates import Rates
from solidify.errors import ConfigError

DEFAULT_NAME = "solidify.yaml"


@dataclass(frozen=True)
class Thresholds:
    """Where recommendations and stages switch; each documented in docs/scoring.md."""

    replace_coverage: float = 0.95  # held-out coverage a program needs to replace a step
    replace_confidence: float = 0.85  # and the Wilson lower bound of that coverage
    replace_lift: float = 0.5  # share of the majority answer's held-out misses it must fix
    label_min_support: int = 5  # a label with this many distinct held-out inputs has support
    label_recall: float = 0.8  # each supported label reproduced at least this often
    route_purity: float = 0.99  # a route is right on at least this share of what it answers
    route_confidence: float = 0.85  # the Wilson lower bound of that purity
    route_min_share: float = 0.1  # and answers at least this share of held-out inputs
    draft_coverage: float = 0.85  # a near miss between this and replace_coverage is a draft
    min_executions: int = 50  # no saving is counted for a step with fewer executions
    min_runs: int = 5  # or logged in fewer runs
    cache_hit_rate: float = 0.2  # share of executions whose exact input was seen before
    cache_agreement: float = 0.9  # outputs agree on repeated inputs at least this often
    harden_failure_rate: float = 0.05  # per-execution failures (errors + soft failures)
    harden_run_failure_rate: float = 0.02  # calls still failing after retries
    harden_structure: float = 0.9  # share of outputs with the step's usual shape
    downgrade_price_ratio: float = 0.5  # the cheaper model costs at most this share
    downgrade_max_labels: int = 20  # "simple task": at most this many distinct outputs
    downgrade_max_output_tokens: float = 20.0  # or at most this many output tokens on average
    mechanical_ai_share: float = 0.1  # stage 2 until fewer AI executions than this are replaceable
    code_share: float = 0.05  # below this share of code executions a workflow is pure AI
    retry_coverage: float = 0.5  # stage 3: failed AI calls retried at least this often
    stage3_run_failure_rate: float = 0.05  # stage 3: runs failing after retries at most this often
    maturity_window_days: int = 30  # the stage is measured on the latest days of logs


CHEAPER_MODELS = {
    "anthropic": "claude-haiku-4-5",
    "openai": "gpt-4o-mini",
    "google": "gemini-2.5-flash",
}


@dataclass(frozen=True)
class Config:
    prices: dict[str, Rates] = field(default_factory=dict)
    thresholds: Thresholds = field(default_factory=Thresholds)
    cheaper_models: dict[str, str] = field(default_factory=lambda: dict(CHEAPER_MODELS))
    declared: dict[str, str] = field(default_factory=dict)  # workflow -> definition file
    source: str | None = None


def load_config(path: str | None = None, *, cwd: Path | None = None) -> Config:
    """Read --config PATH, else ./solidify.yaml when it exists, else the defaults."""
    import yaml

    if path is None:
        candidate = (cwd or Path.cwd()) / DEFAULT_NAME
        if not candidate.is_file():
            return Config()
        path = str(candidate)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else path
        raise ConfigError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    known = {"prices", "thresholds", "cheaper_models", "declared"}
    for key in data:
        if key not in known:
            raise ConfigError(f"{path}: {key}: unknown setting (known: {', '.join(sorted(known))})")
    return Config(
        prices=_prices(path, data.get("prices") or {}),
        thresholds=_thresholds(path, data.get("thresholds") or {}),
        cheaper_models={**CHEAPER_MODELS, **_strings(path, "cheaper_models", data)},
        declared=_strings(path, "declared", data),
        source=path,
    )


def _prices(path: str, raw: Any) -> dict[str, Rates]:
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: prices: expected a mapping of model name to prices")
    out = {}
    for model, values in raw.items():
        if not isinstance(values, dict):
            raise ConfigError(f"{path}: prices.{model}: expected input_mtok and output_mtok")
        try:
            out[str(model)] = Rates.per_million(values, str(model))
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from None
    return out


def _thresholds(path: str, raw: Any) -> Thresholds:
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: thresholds: expected a mapping")
    names = {f.name: f.type for f in fields(Thresholds)}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in names:
            raise ConfigError(f"{path}: thresholds.{key}: unknown threshold")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ConfigError(f"{path}: thresholds.{key}: expected a number >= 0")
        values[key] = int(value) if names[key] == "int" else float(value)
    return Thresholds(**values)


def _strings(path: str, key: str, data: dict[str, Any]) -> dict[str, str]:
    raw = data.get(key) or {}
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise ConfigError(f"{path}: {key}: expected a mapping of names to strings")
    return {str(k): v for k, v in raw.items()}
