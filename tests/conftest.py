from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
CORPUS = ROOT.parent / "shared" / "corpus"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def write_jsonl(path: Path, records: list[Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def step_frame(rows: Any) -> Any:
    """Rows (dicts or a pandas frame) as a pandas step table: every column of the step
    table's schema, absent ones empty, each of its type."""
    import pandas as pd
    import pyarrow as pa

    from solidify.assess.schema import STEP_TABLE_SCHEMA

    frame = pd.DataFrame(rows)
    for name in STEP_TABLE_SCHEMA.names:
        if name not in frame:
            frame[name] = None
    arrow = pa.Table.from_pandas(frame[list(STEP_TABLE_SCHEMA.names)], preserve_index=False)
    return arrow.cast(STEP_TABLE_SCHEMA).to_pandas()


def record(**fields: Any) -> dict[str, Any]:
    base = {"workflow": "wf", "run_id": "r1", "step": "s"}
    base.update(fields)
    return base


@pytest.fixture(scope="session")
def sample_report(tmp_path_factory) -> Path:
    """The HTML report of the samples, written once by the command line for every test that
    reads it (the report tests and the browser test)."""
    folder = tmp_path_factory.mktemp("sample-report")
    out = folder / "nested" / "report.html"
    result = CliRunner().invoke(cli_command(), ["report", str(SAMPLES), "--out", str(out)],
                                env={"SOLIDIFY_HOME": str(folder / "home")})  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    return out


def cli_command():
    from solidify.cli import cli

    return cli


@pytest.fixture(scope="session")
def samples_assessed():
    """(step table, assessment) of all the samples, computed once per session: read it,
    never change it."""
    from solidify.assess.assessment import assess
    from solidify.assess.ingest import read_logs

    result = read_logs([str(SAMPLES)])
    return result.frame(), assess(result.table)
