"""The history of assessments: SQLite, one row per recorded workflow assessment.

Where: `--db PATH`, else `$SOLIDIFY_HOME/history.db`, else the platform's user data
folder. The schema carries its version in `PRAGMA user_version` and is migrated
forward on open. Writes take the database lock up front (`BEGIN IMMEDIATE`) and wait
for it, and the journal is in WAL mode, so processes recording at the same moment
lose nothing.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Sequence
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from solidify.assess.history_path import default_path, resolve
from solidify.assess.model import Assessment
from solidify.assess.synthesis import stored
from solidify.errors import InputError, OutputError

__all__ = ["connect", "default_path", "kept_rows", "load", "load_if_any", "record", "resolve"]

BUSY_TIMEOUT_S = 60.0

MIGRATIONS = [
    # 1: the snapshots the contract describes, and the full workflow assessment as JSON.
    """
    CREATE TABLE snapshots (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        recorded_at TEXT NOT NULL,
        workflow TEXT NOT NULL,
        runs INTEGER NOT NULL,
        cost_usd REAL NOT NULL,
        cost_per_run_usd REAL,
        ai_execution_share REAL NOT NULL,
        replaceable_cost_share REAL NOT NULL,
        maturity_level INTEGER NOT NULL,
        maturity_name TEXT NOT NULL,
        steps_by_recommendation TEXT NOT NULL,
        detail TEXT NOT NULL
    );
    CREATE INDEX snapshots_by_workflow ON snapshots (workflow, recorded_at);
    """,
    # 2: where the assessed logs came from, for people reading the history later.
    "ALTER TABLE snapshots ADD COLUMN sources TEXT NOT NULL DEFAULT '[]';",
    # 3: the program found per step and input shape, re-checked first by the next
    # assessment (solidify.assess.kept reads them; synthesis/stored.py is the JSON form).
    """
    CREATE TABLE programs (
        workflow TEXT NOT NULL,
        step TEXT NOT NULL,
        input_shape TEXT NOT NULL,
        program TEXT NOT NULL,
        strategy TEXT NOT NULL,
        train_coverage REAL NOT NULL,
        coverage REAL NOT NULL,
        found_at TEXT NOT NULL,
        recorded_at TEXT NOT NULL,
        PRIMARY KEY (workflow, step, input_shape)
    );
    """,
]


def connect(path: Path, *, create: bool) -> sqlite3.Connection:
    if not create and not path.exists():
        raise InputError("no history recorded yet (record one with `assess --record`)",
                         file=str(path))  # fmt: skip
    try:
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        migrate(conn)
    except sqlite3.DatabaseError as exc:
        raise InputError(f"not a solidify history database: {exc}", file=str(path)) from None
    except OSError as exc:
        raise OutputError(f"{path}: cannot open the history: {exc.strerror}") from None
    return conn


def migrate(conn: sqlite3.Connection) -> None:
    """Bring the schema up to date, one version at a time, each in its own transaction."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise InputError(
                f"history schema version {version} is newer than this solidify knows "
                f"({len(MIGRATIONS)}): upgrade solidify"
            )
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            for statement in filter(str.strip, script.split(";")):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version={number}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def record(
    assessment: Assessment,
    db: str | os.PathLike[str] | None = None,
    *,
    recorded_at: str | None = None,
    sources: list[str] | None = None,
) -> int:
    """Append one snapshot per workflow; returns how many were written."""
    path = resolve(db)
    when = recorded_at or now()
    rows = []
    for w in assessment.workflows:
        rows.append((
            when, w.workflow, w.runs, w.cost_usd, w.cost_per_run, w.ai_execution_share,
            w.replaceable_cost_share, w.maturity.level, w.maturity.name,
            json.dumps(w.steps_by_recommendation, sort_keys=True),
            json.dumps(w.to_dict(), default=str), json.dumps(sources or []),
        ))  # fmt: skip
    programs = kept_rows(assessment, when)
    with closing(connect(path, create=True)) as conn:
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany(
                "INSERT INTO snapshots (recorded_at, workflow, runs, cost_usd, cost_per_run_usd,"
                " ai_execution_share, replaceable_cost_share, maturity_level, maturity_name,"
                " steps_by_recommendation, detail, sources) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                rows,
            )
            # The latest program per step and input shape; found_at stays that of its find.
            conn.executemany(
                "INSERT OR REPLACE INTO programs (workflow, step, input_shape, program, strategy,"
                " train_coverage, coverage, found_at, recorded_at) VALUES (?,?,?,?,?,?,?,?,?)",
                programs,
            )
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            conn.execute("ROLLBACK")
            raise OutputError(f"{path}: cannot record the assessment: {exc}") from None
    return len(rows)


def kept_rows(assessment: Assessment, when: str) -> list[tuple[Any, ...]]:
    """The programs to keep: each step's, when it reproduces enough to be reused."""
    from solidify.assess.synthesis.program import strategy

    rows = []
    for w in assessment.workflows:
        for s in w.steps:
            for kept in s.synthesis.keepable() if s.synthesis is not None else ():
                rows.append((
                    w.workflow, s.step, kept.input_shape, stored.dumps(kept.program),
                    strategy(kept.program), kept.train_coverage, kept.coverage,
                    kept.found_at or when, when,
                ))  # fmt: skip
    return rows


def load(
    db: str | os.PathLike[str] | None = None, *, workflow: str | Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """Snapshots, oldest first, in the contract's shape; `workflow`: glob pattern(s), as
    --workflow everywhere (solidify/globs.py)."""
    from solidify.globs import matches

    patterns = [workflow] if isinstance(workflow, str) else list(workflow or ())
    path = resolve(db)
    query = (
        "SELECT recorded_at, workflow, runs, cost_usd, cost_per_run_usd, ai_execution_share,"
        " replaceable_cost_share, maturity_level, maturity_name, steps_by_recommendation"
        " FROM snapshots"
    )
    query += " ORDER BY recorded_at, id"
    with closing(connect(path, create=False)) as conn:
        rows = [r for r in conn.execute(query).fetchall() if matches(r[1], patterns)]
    return [
        {
            "recorded_at": r[0],
            "workflow": r[1],
            "runs": r[2],
            "cost_usd": r[3],
            "cost_per_run_usd": r[4],
            "ai_execution_share": round(r[5], 4),
            "replaceable_cost_share": round(r[6], 4),
            "maturity": {"level": r[7], "name": r[8]},
            "steps_by_recommendation": json.loads(r[9]),
        }
        for r in rows
    ]


def load_if_any(db: str | os.PathLike[str] | None) -> list[dict[str, Any]]:
    """The history for a report: empty when none was recorded (a report never creates one)."""
    path = resolve(db)
    if not path.exists():
        if db:
            raise InputError("no such history database", file=str(path))
        return []
    return load(path)
