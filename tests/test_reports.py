"""Reports (HTML, Markdown), trends from the logs, and the history of assessments."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

from solidify.cli import cli
from tests.conftest import SAMPLES, record, write_jsonl


@pytest.fixture(scope="module")
def html_report(sample_report: Path) -> str:
    return sample_report.read_text(encoding="utf-8")


def test_a_named_history_database_must_exist_and_is_checked_first(tmp_path: Path, runner) -> None:
    out = tmp_path / "report.html"
    result = runner.invoke(cli, ["report", str(SAMPLES), "--out", str(out),
                                 "--db", str(tmp_path / "none.db")])  # fmt: skip
    assert result.exit_code == 3 and "no such history database" in result.stderr
    assert not out.exists()


@pytest.mark.slow
def test_html_is_self_contained(html_report: str) -> None:
    assert "<script" not in html_report.lower()
    assert "@import" not in html_report
    # url() only points inside the document (SVG clip paths).
    assert all(ref.startswith("#") for ref in re.findall(r"url\(([^)]*)\)", html_report))
    for attribute in re.findall(r'(?:src|href)="([^"]*)"', html_report):
        assert attribute.startswith("#"), attribute
    assert "<link" not in html_report
    # Only XML namespace names remain as addresses: nothing is fetched.
    addresses = set(re.findall(r"https?://[^\"'\s<>)]+", html_report))
    assert addresses <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}


@pytest.mark.slow
def test_html_states_windows_and_definitions_without_literal_backticks(html_report: str) -> None:
    text = " ".join(re.sub(r"<(style|svg)\b.*?</\1>", "", html_report, flags=re.S).split())
    assert "These figures cover all logs, 2026-08-01 to 2026-10-" in text
    assert "The stage is measured on the latest logs, 2026-09-" in text
    assert "How each figure is counted" in text
    assert "`" not in text and "<code>declared:</code>" in text
    assert '<summary class="muted">the code, for engineers</summary><code>' in text


@pytest.mark.slow
def test_html_content_per_workflow(html_report: str) -> None:
    for name in ("release-cleanup", "support-triage", "invoice-intake"):
        assert name in html_report
    assert "stage 3 of 4: Orchestrated" in html_report
    assert "stage 2 of 4: Hybrid" in html_report
    assert html_report.count("<svg") >= 3 * 2 + 3  # two per workflow, three trends for release
    assert "Cost by step, largest first (Pareto)" in html_report
    assert "To reach stage 3" in html_report and "Replace to_ledger_entry" in html_report


@pytest.mark.slow
def test_release_cleanup_months_climb_in_the_trend_table(html_report: str) -> None:
    section = html_report[re.search(r'<h2 id="wf-\d+">release-cleanup ', html_report).start() :]
    table = section[
        section.index("<h3>By month</h3>") : section.index("</table>", section.index("By month"))
    ]
    stages = re.findall(r"<td>(\d) (Pure AI|Hybrid|Orchestrated|Composable)</td>", table)
    assert [int(level) for level, _ in stages] == [1, 2, 3]


def test_hostile_names_are_escaped(tmp_path: Path, runner) -> None:
    rows = [record(workflow="<script>alert(1)</script>", run_id=f"r{i}",
                   step="<img src=x onerror=alert(2)>", model="gpt-4o-mini", input_tokens=5,
                   output_tokens=1, input={"n": i}, output="x") for i in range(20)]  # fmt: skip
    log = write_jsonl(tmp_path / "log.jsonl", rows)
    out = tmp_path / "r.html"
    result = runner.invoke(cli, ["report", str(log), "--out", str(out)],
                           env={"SOLIDIFY_HOME": str(tmp_path)})  # fmt: skip
    assert result.exit_code == 0, result.stderr
    html = out.read_text()
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


@pytest.mark.slow
def test_markdown_links_chart_files_next_to_it(tmp_path: Path, runner) -> None:
    out = tmp_path / "docs" / "report.md"
    log = str(SAMPLES / "release-cleanup")
    result = runner.invoke(cli, ["report", log, "--out", str(out), "--by", "month"],
                           env={"SOLIDIFY_HOME": str(tmp_path)})  # fmt: skip
    assert result.exit_code == 0, result.stderr
    text = out.read_text()
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert len(links) == 5
    for link in links:
        assert not link.startswith(("/", "http"))
        image = out.parent / link
        assert image.read_bytes().startswith(b"\x89PNG")
    assert "## release-cleanup" in text and "| extract_refs |" in text


def test_report_never_overwrites_without_force(tmp_path: Path, runner) -> None:
    out = tmp_path / "r.html"
    out.write_text("mine")
    log = str(SAMPLES / "invoice-intake.csv")
    result = runner.invoke(cli, ["report", log, "--out", str(out)])
    assert result.exit_code == 4
    assert out.read_text() == "mine"
    bad = runner.invoke(cli, ["report", log, "--out", str(tmp_path / "r.pdf")])
    assert bad.exit_code == 4 and "use .html or .md" in bad.stderr
    small = write_jsonl(tmp_path / "small.jsonl", [record(run_id=f"r{i}", output=i)
                                                   for i in range(3)])  # fmt: skip
    forced = runner.invoke(cli, ["report", str(small), "--out", str(out), "--force"],
                           env={"SOLIDIFY_HOME": str(tmp_path)})  # fmt: skip
    assert forced.exit_code == 0 and out.read_text().startswith("<!DOCTYPE html>")


# ---------------------------------------------------------------- history


@pytest.mark.slow  # end to end: three assessments recorded, then read
def test_record_and_read_history(tmp_path: Path, runner) -> None:
    env = {"SOLIDIFY_HOME": str(tmp_path / "home")}
    for month in (1, 2, 3):
        log = str(SAMPLES / "release-cleanup" / f"month{month}.jsonl")
        result = runner.invoke(cli, ["assess", log, "--record", "--format", "json"], env=env)
        assert result.exit_code == 0, result.stderr
        assert "recorded 1 workflow assessment" in result.stderr
        json.loads(result.stdout)
    listed = runner.invoke(cli, ["history", "--format", "json"], env=env)
    assert listed.exit_code == 0, listed.stderr
    entries = json.loads(listed.stdout)
    assert [e["maturity"]["level"] for e in entries] == [1, 2, 3]
    first = entries[0]
    assert set(first) >= {"recorded_at", "workflow", "runs", "cost_usd", "cost_per_run_usd",
                          "ai_execution_share", "replaceable_cost_share", "maturity",
                          "steps_by_recommendation"}  # fmt: skip
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", first["recorded_at"])
    assert first["steps_by_recommendation"]["replace"] >= 3
    assert entries[0]["cost_per_run_usd"] > entries[2]["cost_per_run_usd"]
    assert first["ai_execution_share"] > entries[2]["ai_execution_share"]
    table = runner.invoke(cli, ["history", "--workflow", "release-cleanup"], env=env)
    assert table.stdout.count("release-cleanup") == 3
    none = runner.invoke(cli, ["history", "--workflow", "nope", "--format", "json"], env=env)
    assert json.loads(none.stdout) == []
    # A report shows the recorded history.
    out = tmp_path / "r.html"
    report = runner.invoke(cli, ["report", str(SAMPLES / "release-cleanup"), "--out", str(out)],
                           env=env)  # fmt: skip
    assert report.exit_code == 0, report.stderr
    assert "Recorded assessments" in out.read_text()


def test_history_without_a_database(tmp_path: Path, runner) -> None:
    result = runner.invoke(cli, ["history", "--db", str(tmp_path / "missing.db")])
    assert result.exit_code == 3
    assert "no history recorded yet" in result.stderr
    empty = runner.invoke(cli, ["history", "--format", "json"],
                          env={"SOLIDIFY_HOME": str(tmp_path / "fresh")})  # fmt: skip
    assert empty.exit_code == 0 and json.loads(empty.stdout) == []


def _record_in_a_process(log: str, db: str) -> None:
    from solidify.assess.assessment import assess
    from solidify.assess.ingest import read_logs
    from solidify.reports import history

    history.record(assess(read_logs([log]).table), db, sources=[log])


def test_concurrent_records_lose_nothing(tmp_path: Path) -> None:
    import multiprocessing

    db = str(tmp_path / "history.db")
    rows = [{"workflow": w, "run_id": f"r{i}", "step": "s", "output": i}
            for w in ("a", "b") for i in range(5)]  # fmt: skip
    log = tmp_path / "log.jsonl"
    log.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    # Four processes (forked: the modules are loaded already) write to one database at once.
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=_record_in_a_process, args=(str(log), db))
                 for _ in range(4)]  # fmt: skip
    for p in processes:
        p.start()
    for p in processes:
        p.join(timeout=120)
        assert p.exitcode == 0
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM snapshots").fetchone()[0] == 8


def test_old_schemas_are_migrated_and_newer_ones_refused(tmp_path: Path) -> None:
    from solidify.reports import history

    db = tmp_path / "old.db"
    with sqlite3.connect(db) as conn:
        conn.executescript(history.MIGRATIONS[0])
        conn.execute(
            "INSERT INTO snapshots (recorded_at, workflow, runs, cost_usd, cost_per_run_usd,"
            " ai_execution_share, replaceable_cost_share, maturity_level, maturity_name,"
            " steps_by_recommendation, detail) VALUES"
            " ('2026-06-01T10:00:00Z', 'wf', 3, 1.5, 0.5, 0.8, 0.4, 1, 'Pure AI', '{}', '{}')"
        )
        conn.execute("PRAGMA user_version=1")
    entries = history.load(db)
    assert entries[0]["workflow"] == "wf" and entries[0]["maturity"]["level"] == 1
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(history.MIGRATIONS)
        conn.execute("PRAGMA user_version=99")
    from solidify.errors import InputError

    with pytest.raises(InputError, match="newer than this solidify"):
        history.load(db)


@pytest.mark.slow  # end to end on the samples
def test_assess_by_month_shows_the_release_cleanup_climb(runner) -> None:
    log = str(SAMPLES / "release-cleanup")
    data = json.loads(
        runner.invoke(cli, ["assess", log, "--by", "month", "--format", "json"]).stdout
    )
    periods = data["trends"]["periods"]
    assert [(p["period"], p["stage"]) for p in periods] == [
        ("2026-08-01", 1),
        ("2026-09-01", 2),
        ("2026-10-01", 3),
    ]
    assert (
        periods[0]["cost_per_run_usd"]
        > periods[1]["cost_per_run_usd"]
        > periods[2]["cost_per_run_usd"]
    )
    assert periods[0]["ai_execution_share"] > periods[2]["ai_execution_share"]
    text = runner.invoke(cli, ["assess", log, "--by", "month"]).stdout
    assert "Trends by month" in text and "3 Orchestrated" in text


def test_weeks_start_on_monday() -> None:
    from datetime import date

    from solidify.assess.assessment import assess
    from solidify.assess.ingest import read_logs
    from solidify.assess.trends import trends

    table = read_logs([str(SAMPLES / "invoice-intake.csv")]).frame()
    periods = trends(table, assess(table), by="week")
    assert len(periods) >= 4
    assert {date.fromisoformat(p.start).weekday() for p in periods} == {0}
    assert sum(p.runs for p in periods) == 300
