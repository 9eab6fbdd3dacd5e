"""The programs kept in the history database, read for the next assessment.

`assess --record` keeps, per (workflow, step, input shape), the program found and its
coverage (solidify.reports.history writes them). This reads them, read-only: a missing
database, one recorded before programs were kept, or one this version cannot read is
no error, only nothing kept; a stored program that does not read back is skipped.
"""

from __future__ import annotations

import os
import sqlite3
from collections import defaultdict
from contextlib import closing

from solidify.assess.history_path import resolve
from solidify.assess.synthesis import stored
from solidify.assess.synthesis.reuse import Kept

Known = dict[tuple[str, str], tuple[Kept, ...]]  # (workflow, step) -> kept programs


def load(db: str | os.PathLike[str] | None = None) -> Known:
    path = resolve(db)
    if not path.is_file():
        return {}
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as conn:
            rows = conn.execute(
                "SELECT workflow, step, input_shape, program, train_coverage, coverage, found_at"
                " FROM programs ORDER BY workflow, step, recorded_at DESC"
            ).fetchall()
    except sqlite3.Error:  # no programs table yet (an older history), or not a database
        return {}
    known: dict[tuple[str, str], list[Kept]] = defaultdict(list)
    for workflow, step, shape, text, train_coverage, coverage, found_at in rows:
        try:
            program = stored.loads(text)
        except ValueError:  # another format, or a node this version does not know
            continue
        known[(workflow, step)].append(
            Kept(program, shape, float(train_coverage), float(coverage), found_at)
        )
    return {key: tuple(kept) for key, kept in known.items()}
