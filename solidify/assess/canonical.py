"""Canonical JSON text: the one form in which inputs and outputs are compared and stored.

msgspec writes it: compact, keys sorted, integers of any size, and fast on the
millions of small values of a large log.
"""

from __future__ import annotations

from typing import Any

import msgspec


def _plain(value: Any) -> Any:
    """Numbers computed with numpy (a program's output) are written as plain numbers."""
    item = getattr(value, "item", None)
    if item is None:
        raise TypeError(f"cannot write {type(value).__name__} as JSON")
    return item()


_ENCODER = msgspec.json.Encoder(order="sorted", enc_hook=_plain)
canonical_bytes = _ENCODER.encode


def canonical_json(value: Any) -> str | None:
    """Compact JSON with sorted keys; None stays None (a missing value)."""
    if value is None:
        return None
    return _ENCODER.encode(value).decode()
