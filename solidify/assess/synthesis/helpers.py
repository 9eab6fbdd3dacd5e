"""Small functions that programs call, shared by the interpreter and generated code.

The interpreter (program.py) calls these functions; generated modules get their
source text (`HELPERS`), read from this file, so both run the very same code.
Standard library only; each function is self-contained (no module globals).
"""

from __future__ import annotations

import inspect
import json
import re
from typing import Any


def _as_text(value: Any) -> str:
    """Text as the logs wrote it: strings as they are, numbers and booleans as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    raise ValueError(f"cannot use {value!r} as text")


def _as_number(value: Any) -> float | int:
    """A number, or numeric text such as "1,234.50" or "$1,234.50"."""
    if isinstance(value, str):
        text = value.replace(",", "").strip().lstrip("$€£").strip()
        number = float(text)
        return int(number) if number.is_integer() and "." not in text else number
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"not a number: {value!r}")
    return value


def _is_number(value: Any) -> bool:
    """A JSON number (booleans are not numbers here)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _tokens(text: str) -> list[str]:
    """The runs of letters and digits in a text."""
    return re.findall(r"[^\W_]+", text)


def _words(text: Any) -> set[str]:
    """The lowercase words of a text (nothing for a value that is not text)."""
    return set(re.findall(r"\w+", text.lower())) if isinstance(text, str) else set()


def _first_match(pattern: re.Pattern[str], text: str) -> str | None:
    """The first match of a pattern (its group when it has one), or None."""
    found = pattern.search(text)
    if found is None:
        return None
    return found.group(1) if pattern.groups else found.group(0)


def _canonical(value: Any) -> str:
    """The key a table uses for a value: compact JSON with sorted keys."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


FUNCTIONS = {
    f.__name__: f
    for f in (_as_text, _as_number, _is_number, _tokens, _words, _first_match, _canonical)
}
MODULES = {"_tokens": {"re"}, "_words": {"re"}, "_first_match": {"re"}, "_canonical": {"json"}}


def register(function: Any, modules: set[str] | None = None) -> Any:
    """Add a helper (used as a decorator by the modules of new operations)."""
    FUNCTIONS[function.__name__] = function
    if modules:
        MODULES[function.__name__] = set(modules)
    HELPERS[function.__name__] = (_source(function), set(modules or ()))
    return function


def _source(function: Any) -> str:
    lines = inspect.getsource(function).strip().splitlines()
    return "\n".join(line for line in lines if not line.startswith("@"))  # no decorators


# name: (source, modules it needs) -- what migrate pastes into generated modules.
HELPERS: dict[str, tuple[str, set[str]]] = {
    name: (_source(f), MODULES.get(name, set())) for name, f in FUNCTIONS.items()
}
