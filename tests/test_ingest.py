from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import pandas as pd
import pytest

from solidify.assess.ingest import read_logs, write_step_table
from solidify.cli import cli
from solidify.errors import InputError, OutputError
from tests.conftest import SAMPLES, record, write_jsonl


def test_defaults_follow_the_contract(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "a.jsonl",
        [
            record(model="gpt-4o", input={"b": 1, "a": [1, 2]}, output="x"),
            record(step="t"),
            record(
                step="u",
                kind="tool",
                status="error",
                attempt=2,
                started_at="2026-01-01T00:00:00Z",
                ended_at="2026-01-01T00:00:01.250Z",
                duration_ms=99,
            ),
        ],
    )
    table = read_logs([str(path)]).frame()
    assert list(table["kind"]) == ["llm", "code", "tool"]
    assert list(table["status"]) == ["ok", "ok", "error"]
    assert list(table["attempt"]) == [1, 1, 2]
    # Timestamps win over duration_ms when both are there.
    assert table["duration_ms"].iloc[2] == pytest.approx(1250.0)
    # input is kept as canonical JSON: sorted keys, compact.
    assert table["input"].iloc[0] == '{"a":[1,2],"b":1}'
    assert table["output"].iloc[0] == '"x"'
    assert pd.isna(table["output"].iloc[1])
    assert list(table["line"]) == [1, 2, 3]


def test_unknown_fields_are_kept_and_ignored(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", [record(team="core", input=1)])
    table = read_logs([str(path)]).frame()
    assert json.loads(table["extra"].iloc[0]) == {"team": "core"}


def test_bad_records_are_skipped_counted_and_located(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text(
        "\n".join(
            [
                json.dumps(record()),
                json.dumps(record(attempt="two")),
                "{not json",
                json.dumps({"workflow": "wf", "step": "s"}),
                json.dumps(record(input_tokens=-3)),
                json.dumps(record(started_at="yesterday")),
                json.dumps(record(kind="robot")),
                json.dumps(record(run_id=7)),
                json.dumps(record(step="")),
                json.dumps(record(attempt=0)),
            ]
        )
        + "\n"
    )
    result = read_logs([str(path)])
    assert len(result.frame()) == 1
    assert result.problems.count == 9
    found = {(p.line, p.field) for p in result.problems.first}
    assert found == {
        (2, "attempt"),
        (3, None),
        (4, "run_id"),
        (5, "input_tokens"),
        (6, "started_at"),
        (7, "kind"),
        (8, "run_id"),
        (9, "step"),
        (10, "attempt"),
    }


def test_strict_stops_at_the_first_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps(record()) + "\n{oops\n" + json.dumps(record(attempt="x")) + "\n")
    with pytest.raises(InputError) as info:
        read_logs([str(path)], strict=True)
    assert str(info.value).startswith(f"{path}:2: ")


def test_cli_reports_skipped_records_on_stderr_only(tmp_path: Path, runner) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", [record(), record(attempt="x")])
    result = runner.invoke(cli, ["assess", str(path), "--format", "json"])
    assert result.exit_code == 0
    assert f"{path}:2: attempt: expected an integer (of at most 64 bits)" in result.stderr
    json.loads(result.stdout)  # stdout holds the JSON and nothing else


def test_cli_strict_exits_3_with_one_line(tmp_path: Path, runner) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", [record(), record(attempt="x")])
    result = runner.invoke(cli, ["assess", str(path), "--strict"])
    assert result.exit_code == 3
    assert result.stdout == ""
    assert (
        result.stderr.strip()
        == f"Error: {path}:2: attempt: expected an integer (of at most 64 bits), got 'x'"
    )
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.jsonl", b"", "empty file"),
        ("blank.jsonl", b"\n\n  \n", "empty file"),
        ("binary.jsonl", b"\x89PNG\r\n\x1a\n\x00\x00\x00", "binary file"),
        ("array.jsonl", b'[{"a": 1},\n {"b": 2}]', "not JSON Lines records"),
        ("numbers.jsonl", b"1\n2\n", "JSON that is not records"),
        ("doc.json", b'{"data": [1, 2]}', "JSON that is not records"),
        ("notes.txt", b"hello", "unknown file type"),
        ("bad.parquet", b"hello", "not a Parquet file"),
        ("bad.jsonl.gz", b"hello", "not a gzip file"),
        ("header.csv", b"a,b\n1,2\n", "names none of workflow"),
    ],
)
def test_unreadable_files_give_one_line_errors(
    tmp_path: Path, runner, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    result = runner.invoke(cli, ["assess", str(path)])
    assert result.exit_code == 3, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"Error: {path}")
    assert message in lines[0]
    assert result.stdout == ""


def test_missing_path_is_an_error(tmp_path: Path, runner) -> None:
    result = runner.invoke(cli, ["assess", str(tmp_path / "nope.jsonl")])
    assert result.exit_code == 3
    assert "no such file or folder" in result.stderr


def test_folder_without_logs_is_an_error(tmp_path: Path, runner) -> None:
    (tmp_path / "readme.txt").write_text("hi")
    result = runner.invoke(cli, ["assess", str(tmp_path)])
    assert result.exit_code == 3
    assert "folder holds no log files" in result.stderr


def test_all_formats_read_the_same_records(tmp_path: Path) -> None:
    records = [
        record(model="m", input={"q": "a,b"}, output={"x": [1]}, input_tokens=5, cost_usd=0.5),
        record(run_id="r2", status="timeout", error="slow", duration_ms=3.5),
    ]
    jsonl = write_jsonl(tmp_path / "a.jsonl", records)
    gz = tmp_path / "b.jsonl.gz"
    gz.write_bytes(gzip.compress(jsonl.read_bytes()))
    csv_rows = pd.DataFrame(records)
    csv_rows["input"] = csv_rows["input"].map(
        lambda v: json.dumps(v) if isinstance(v, dict) else ""
    )
    csv_rows["output"] = csv_rows["output"].map(
        lambda v: json.dumps(v) if isinstance(v, dict) else ""
    )
    csv_rows.to_csv(tmp_path / "c.csv", index=False)
    parquet = tmp_path / "d.parquet"
    pd.DataFrame(
        [
            {**r, "input": json.dumps(r.get("input")), "output": json.dumps(r.get("output"))}
            for r in records
        ]
    ).to_parquet(parquet)
    columns = [
        "workflow",
        "run_id",
        "kind",
        "status",
        "input",
        "output",
        "input_tokens",
        "cost_usd",
        "duration_ms",
        "error",
    ]
    expected = read_logs([str(jsonl)]).frame()[columns]
    for other in ("b.jsonl.gz", "c.csv", "d.parquet"):
        got = read_logs([str(tmp_path / other)]).frame()[columns]
        pd.testing.assert_frame_equal(
            got.reset_index(drop=True).astype(object),
            expected.reset_index(drop=True).astype(object),
            check_dtype=False,
        )


def test_folders_are_read_recursively(tmp_path: Path) -> None:
    (tmp_path / "x" / "y").mkdir(parents=True)
    write_jsonl(tmp_path / "x" / "a.jsonl", [record()])
    write_jsonl(tmp_path / "x" / "y" / "b.jsonl", [record(), record()])
    (tmp_path / "x" / "notes.md").write_text("ignored")
    result = read_logs([str(tmp_path / "x")])
    assert len(result.frame()) == 3
    assert len(result.files) == 2


def test_stdin_is_read(runner) -> None:
    data = json.dumps(record(step="from-stdin")) + "\n"
    result = runner.invoke(cli, ["assess", "-", "--format", "json"], input=data)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["workflows"][0]["steps"][0]["step"] == "from-stdin"


def test_stdin_reader_sniffs_csv() -> None:
    data = b"workflow,run_id,step\nwf,r1,s\n"
    result = read_logs(["-"], stdin=io.BytesIO(data))
    assert list(result.frame()["step"]) == ["s"]


def test_ingest_writes_parquet_that_reads_back_identically(tmp_path: Path, runner) -> None:
    out = tmp_path / "steps.parquet"
    result = runner.invoke(
        cli, ["ingest", str(SAMPLES / "support-triage.jsonl.gz"), "--out", str(out)]
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    original = read_logs([str(SAMPLES / "support-triage.jsonl.gz")]).frame()
    again = read_logs([str(out)]).frame()
    assert len(again) == len(original)
    assert list(again["input"]) == list(original["input"])
    assert list(again["step"]) == list(original["step"])
    # Never overwritten without --force.
    again_run = runner.invoke(cli, ["ingest", str(SAMPLES / "invoice-intake.csv"), "-o", str(out)])
    assert again_run.exit_code == 4
    assert "exists; pass --force" in again_run.stderr
    forced = runner.invoke(
        cli, ["ingest", str(SAMPLES / "invoice-intake.csv"), "-o", str(out), "--force"]
    )
    assert forced.exit_code == 0
    assert set(read_logs([str(out)]).frame()["workflow"]) == {"invoice-intake"}


def test_write_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "x.parquet"
    path.write_text("mine")
    table = read_logs([str(SAMPLES / "invoice-intake.csv")]).frame()
    with pytest.raises(OutputError):
        write_step_table(table, str(path))
    assert path.read_text() == "mine"


def test_every_sample_file_is_read_cleanly() -> None:
    for path in sorted(SAMPLES.rglob("*")):
        if path.suffix in {".jsonl", ".gz", ".csv"}:
            result = read_logs([str(path)])
            assert result.problems.count == 0, path
            assert len(result.frame()) > 1000, path


def test_blocks_end_at_newlines_and_count_lines() -> None:
    from solidify.assess.jsonl_sql import blocks

    lines = [f'{{"n": {i}}}\n'.encode() * (i % 3 + 1) for i in range(200)]
    data = b"".join(lines)
    pieces = list(blocks(io.BytesIO(data), size=97))
    assert b"".join(block for _, block in pieces) == data
    line = 1
    for first, block in pieces:
        assert first == line
        line += block.count(b"\n")
        assert block.endswith(b"\n")


def test_a_bad_record_deep_in_a_large_file_is_named_by_its_line(
    tmp_path: Path, monkeypatch
) -> None:
    # Small blocks, so that the bad record sits in a later block than the first.
    monkeypatch.setattr("solidify.assess.jsonl_sql.BLOCK_BYTES", 4096)
    rows = [record(run_id=f"r{i}", input={"i": i}) for i in range(300)]
    rows[250]["attempt"] = "three"
    path = write_jsonl(tmp_path / "big.jsonl", rows)
    result = read_logs([str(path)])
    assert len(result.frame()) == 299
    assert [(p.line, p.field) for p in result.problems.first] == [(251, "attempt")]
    assert list(result.frame()["line"][:3]) == [1, 2, 3]
    assert result.frame()["line"].iloc[-1] == 300


@pytest.mark.slow  # five whole assessments; the samples' folder is assessed in the fast suite
@pytest.mark.parametrize(
    "name",
    ["release-cleanup/month1.jsonl", "release-cleanup/month2.jsonl",
     "release-cleanup/month3.jsonl", "support-triage.jsonl.gz", "invoice-intake.csv"],
)  # fmt: skip
def test_assess_succeeds_on_every_sample_file(runner, name: str) -> None:
    result = runner.invoke(cli, ["assess", str(SAMPLES / name)])
    assert result.exit_code == 0, result.stderr
    assert "stage " in result.stdout
    assert result.stderr == ""


def test_help_and_version_do_not_import_heavy_libraries() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from solidify.cli import cli\n"
        "try:\n    cli(['--help'])\nexcept SystemExit:\n    pass\n"
        "names = ('pandas', 'matplotlib', 'anthropic', 'pyarrow')\n"
        "print('heavy:' + ','.join(m for m in names if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "heavy:"


@pytest.mark.slow  # end to end; CI runs the slow tests
def test_the_samples_are_what_their_seeded_generator_writes(tmp_path: Path) -> None:
    import subprocess
    import sys

    subprocess.run([sys.executable, str(SAMPLES / "generate.py"), str(tmp_path)], check=True,
                   timeout=120)  # fmt: skip
    for name in ("release-cleanup/month1.jsonl", "release-cleanup/month2.jsonl",
                 "release-cleanup/month3.jsonl", "support-triage.jsonl.gz",
                 "invoice-intake.csv", "order-desk.jsonl.gz"):  # fmt: skip
        assert (tmp_path / name).read_bytes() == (SAMPLES / name).read_bytes(), name


def test_an_integer_beyond_64_bits_is_a_bad_record_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    path.write_text(
        json.dumps(record(input_tokens=2**70)) + "\n" + json.dumps(record(input_tokens=5)) + "\n"
    )
    result = read_logs([str(path)])
    assert result.frame()["input_tokens"].tolist() == [5]
    assert [(p.line, p.field) for p in result.problems.first] == [(1, "input_tokens")]


@pytest.mark.slow
def test_the_command_line_flushes_everything_and_keeps_exit_codes(tmp_path: Path) -> None:
    """What `main` printed must all arrive, and the exit codes must stay the documented
    ones."""
    import subprocess
    import sys

    def run(*args: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "solidify", *args]
        return subprocess.run(command, capture_output=True, text=True, check=False)

    done = run("assess", str(SAMPLES / "invoice-intake.csv"), "--format", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["workflows"]
    gate = run("assess", str(SAMPLES / "invoice-intake.csv"), "--fail-under-stage", "4")
    assert gate.returncode == 1 and "below 4" in gate.stderr
    missing = run("assess", str(tmp_path / "missing.jsonl"))
    assert missing.returncode == 3 and "no such file" in missing.stderr
    assert run("--version").returncode == 0
