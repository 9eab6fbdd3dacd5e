"""One glob semantics for --workflow and --step everywhere: fnmatch patterns, matched
case-sensitively against the whole name (`release-*`, `extract_?`, `[ab]*`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from fnmatch import fnmatchcase


def matches(name: str, patterns: Sequence[str]) -> bool:
    """Whether `name` matches any pattern; every name matches when there is none."""
    return not patterns or any(fnmatchcase(name, p) for p in patterns)


def unmatched(patterns: Sequence[str], names: Iterable[str]) -> list[str]:
    """The patterns that match none of `names`, in the order given."""
    names = set(names)
    return [p for p in patterns if not any(fnmatchcase(n, p) for n in names)]
