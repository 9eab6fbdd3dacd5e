"""Helpers every trace reader shares: times, JSON-in-strings, stable step names, tokens."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_ID_TOKEN = re.compile(r"\b(?=[A-Za-z0-9_]*\d)[A-Za-z0-9_]{12,}\b")
_COUNTER = re.compile(r"(?:[\s_\-#.:]*\d+|\s*\[\d+\]|\s*\(\d+\))$")


def stable_name(name: Any, default: str = "step") -> str:
    """A step key that stays the same across runs: ids and trailing counters stripped."""
    text = str(name or "").strip()
    text = _UUID.sub("", text)
    text = _ID_TOKEN.sub("", text)
    previous = None
    while previous != text:
        previous = text
        text = _COUNTER.sub("", text).strip()
    text = re.sub(r"\s{2,}", " ", text).strip(" -_:#")
    return text or default


def iso(value: Any) -> str | None:
    """A timestamp in ISO 8601 from nanoseconds, milliseconds, seconds, [s, ns] or ISO text."""
    if value is None or value == "" or value == 0:
        return None
    if isinstance(value, (list, tuple)) and len(value) == 2:
        seconds = float(value[0]) + float(value[1]) / 1e9
        return _from_seconds(seconds)
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"\d+(\.\d+)?", text):
            return iso(float(text))
        return text
    if isinstance(value, (int, float)):
        number = float(value)
        if number > 1e17:  # nanoseconds
            return _from_seconds(number / 1e9)
        if number > 1e14:  # microseconds
            return _from_seconds(number / 1e6)
        if number > 1e11:  # milliseconds
            return _from_seconds(number / 1e3)
        return _from_seconds(number)
    return None


def _from_seconds(seconds: float) -> str:
    stamp = datetime.fromtimestamp(seconds, tz=timezone.utc)
    return stamp.isoformat().replace("+00:00", "Z")


def decode(value: Any, depth: int = 3) -> Any:
    """Values that traces store as JSON text (sometimes twice over) become JSON values."""
    for _ in range(depth):
        if not isinstance(value, str):
            return value
        text = value.strip()
        if not text or (text[0] not in '{["' and text not in ("null", "true", "false")):
            return value
        try:
            value = json.loads(text)
        except ValueError:
            return value
    return value


def integer(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if number == number and number >= 0 else None


def number(value: Any) -> float | None:
    """A float from a number or numeric text, or None."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def first(mapping: dict[str, Any], *keys: str) -> Any:
    """The first present, non-null value among keys (camelCase and snake_case alike)."""
    for key in keys:
        value = mapping.get(key)
        if value is not None:
            return value
    return None


def provider_name(value: Any) -> str | None:
    """'openai.responses' or 'openai.chat' -> 'openai'; 'az.ai.inference' stays as it is."""
    if not value:
        return None
    text = str(value).lower()
    for known in ("openai", "anthropic", "google", "gemini", "vertex", "mistral", "cohere",
                  "bedrock", "groq", "deepseek", "xai", "azure"):  # fmt: skip
        if text.startswith(known):
            return {"gemini": "google", "vertex": "google"}.get(known, known)
    return text


def drop_none(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if v is not None}
