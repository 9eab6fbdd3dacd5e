"""One glob semantics for --workflow and --step everywhere: fnmatch patterns, matched
case-sensitively against the whole name (`release-*`, `extract_?`, `[ab]*`)."""

from __future__ import annotations

from collections.abc import Sequence
from fnmatch import fnmatchcase


def matches(name: str, patterns: Sequence[str]) -> bool:
    """Whether `name` matches any pattern; every name matches when there is none."""
    return not patterns or any(fnmatchcase(name, p) for p in patterns)
