"""Canonical JSON text: the one form in which inputs and outputs are compared and stored."""

from __future__ import annotations

import json
from typing import Any

import orjson


def canonical_json(value: Any) -> str | None:
    """Compact JSON with sorted keys; None stays None (a missing value)."""
    if value is None:
        return None
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:
        # orjson refuses integers beyond 64 bits; the stdlib does not.
        return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
