"""Where the history database is: `--db PATH`, else `$SOLIDIFY_HOME/history.db`, else
the platform's user data folder (shared by the writer, solidify.reports.history, and
the reader of kept programs, solidify.assess.kept)."""

from __future__ import annotations

import os
from pathlib import Path


def default_path() -> Path:
    home = os.environ.get("SOLIDIFY_HOME")
    if home:
        return Path(home) / "history.db"
    from platformdirs import user_data_dir

    return Path(user_data_dir("solidify", appauthor=False)) / "history.db"


def resolve(db: str | os.PathLike[str] | None) -> Path:
    return Path(db) if db else default_path()
