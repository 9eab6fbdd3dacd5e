"""One glob semantics for --workflow and --step everywhere: fnmatch patterns, matched
case-sensitively against the whole name (`release-*`, `extract_?`, `[ab]*`)."""

from __future__ import annotations

from collections.abc import Sequence
from fnmatch import fnmatchcase

import pandas as pd


def matches(name: str, patterns: Sequence[str]) -> bool:
    """Whether `name` matches any pattern; every name matches when there is none."""
    return not patterns or any(fnmatchcase(name, p) for p in patterns)


def select(table: pd.DataFrame, workflows: Sequence[str], steps: Sequence[str]) -> pd.DataFrame:
    """The rows of the step table whose workflow and step match the patterns."""
    keep = pd.Series(True, index=table.index)
    for column, patterns in (("workflow", workflows), ("step", steps)):
        if patterns:
            names = table[column].astype(str)
            wanted = {n for n in names.unique() if matches(n, patterns)}
            keep &= names.isin(wanted)
    return table[keep]
