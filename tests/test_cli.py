"""The command line's edge: one --format, one glob semantics, exit codes from the enum, and
docs generated from --help."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from cogapp import Cog

from solidify import errors
from solidify.cli import OUTPUT_FORMATS, Aborted, cli
from solidify.errors import ExitStatus
from tests.conftest import ROOT, record, write_jsonl

RESULT_COMMANDS = ("assess", "verify", "history")


def test_every_command_that_writes_results_has_the_same_format_choices() -> None:
    for name in RESULT_COMMANDS:
        option = next(p for p in cli.commands[name].params if p.name == "fmt")
        assert tuple(option.type.choices) == OUTPUT_FORMATS, name
        assert option.default == "text"


def test_every_command_and_option_is_documented() -> None:
    page = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    for name, command in cli.commands.items():
        assert command.help and f"## solidify {name}" in page, name
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.help, f"{name} {param.opts} has no help"
                assert all(opt in page for opt in param.opts), (name, param.opts)


@pytest.mark.parametrize("page", ["README.md", "docs/cli.md"])
def test_generated_docs_are_current(page: str) -> None:
    # cog --check: the page holds exactly what its generator writes (exit codes, --help).
    assert Cog().main(["cog", "--check", str(ROOT / page)]) == 0, f"run: cog -r {page}"


def test_error_exit_codes_are_the_enum() -> None:
    assert errors.InputError("x").exit_code is ExitStatus.BAD_INPUT
    assert errors.OutputError("x").exit_code is ExitStatus.OUTPUT_REFUSED
    assert errors.GateFailed("x").exit_code is ExitStatus.GATE_FAILED
    assert errors.LLMError("x").exit_code is ExitStatus.MODEL_API
    assert Aborted().exit_code is ExitStatus.INTERRUPTED
    assert [s.value for s in ExitStatus] == [0, 1, 2, 3, 4, 5, 130]


def test_selection_help_says_what_the_command_does() -> None:
    step = next(p for p in cli.commands["migrate"].params if p.name == "steps")
    assert step.help.startswith("Only migrate steps")


def _log(tmp_path: Path) -> Path:
    names = ("release-a", "release-b", "other")
    rows = [record(workflow=w, run_id=f"r{i}", step=s, output=i)
            for w in names for s in ("s1", "s2") for i in range(2)]  # fmt: skip
    return write_jsonl(tmp_path / "log.jsonl", rows)


def test_history_workflow_is_a_glob_like_everywhere(tmp_path: Path, runner) -> None:
    db = str(tmp_path / "h.db")
    log = str(_log(tmp_path))
    assert runner.invoke(cli, ["assess", log, "--record", "--db", db]).exit_code == 0
    shown = runner.invoke(cli, ["history", "--db", db, "--workflow", "release-*",
                                "--format", "json"])  # fmt: skip
    assert shown.exit_code == 0, shown.output
    assert sorted(e["workflow"] for e in json.loads(shown.stdout)) == ["release-a", "release-b"]
    as_csv = runner.invoke(cli, ["history", "--db", db, "--format", "csv"])
    assert as_csv.stdout.splitlines()[0].startswith("recorded_at,workflow,runs")
    assert len(as_csv.stdout.splitlines()) == 4
    as_md = runner.invoke(cli, ["history", "--db", db, "--workflow", "other", "--format",
                                "markdown"])  # fmt: skip
    assert as_md.stdout.count("| other |") == 1


def test_assess_selection_and_formats(tmp_path: Path, runner) -> None:
    log = str(_log(tmp_path))
    shown = runner.invoke(cli, ["assess", log, "--workflow", "release-*", "--step", "s2",
                                "--format", "csv"])  # fmt: skip
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert [line.split(",")[:2] for line in lines[1:]] == [["release-a", "s2"], ["release-b", "s2"]]
    # A step pattern that names no step is an error, as a workflow pattern is; nothing written.
    for command in (["assess", log], ["migrate", log, "--out", str(tmp_path / "pkg")]):
        missing = runner.invoke(cli, [*command, "--step", "s9*"])
        assert (missing.exit_code, missing.stderr) == (3, "Error: no step matches s9*\n")
    assert not (tmp_path / "pkg").exists()
    # A typo among patterns that match: a warning, the others still chosen.
    typo = runner.invoke(cli, ["assess", log, "--step", "s2", "--step", "sx", "--format", "csv"])
    assert typo.exit_code == 0
    assert typo.stderr == "warning: no step matches sx\n"
    assert {line.split(",")[1] for line in typo.stdout.splitlines()[1:]} == {"s2"}
    # Here: a step of another workflow than those chosen.
    elsewhere = runner.invoke(cli, ["assess", log, "--workflow", "other", "--step", "s2*"])
    assert elsewhere.exit_code == 0
    elsewhere = runner.invoke(cli, ["assess", log, "--workflow", "oth*", "--step", "s3"])
    assert elsewhere.stderr == "Error: no step matches s3 in oth*\n"


def test_verify_takes_the_same_selection_options(tmp_path: Path, runner) -> None:
    log = str(_log(tmp_path))
    missing = runner.invoke(cli, ["verify", str(tmp_path), log, "--workflow", "nothing-*"])
    assert missing.exit_code == ExitStatus.BAD_INPUT
    assert missing.stderr == "Error: no workflow matches nothing-*\n"
    bad_config = tmp_path / "bad.yaml"
    bad_config.write_text("prices: [", encoding="utf-8")
    refused = runner.invoke(cli, ["verify", str(tmp_path), log, "--config", str(bad_config)])
    assert refused.exit_code == ExitStatus.BAD_INPUT


def test_migrate_and_verify_read_samples_not_the_whole_log(tmp_path: Path, runner, monkeypatch):
    """Examples come from the engine's per-step samples: no command copies the whole step
    table into pandas (on a large log that copy was their memory peak), and migrate takes
    the samples its assessment searched rather than drawing them again."""
    from solidify.assess import sampling
    from solidify.assess.ingest import Ingested

    def refuse(_self):
        raise AssertionError("the whole step table copied into pandas")

    drawn = []

    def counted(*args, **kwargs):
        drawn.append(args)
        return draw(*args, **kwargs)

    draw = sampling.step_samples
    monkeypatch.setattr(Ingested, "frame", refuse)
    monkeypatch.setattr(sampling, "step_samples", counted)
    rows = [record(run_id=f"r{i}", step="pick", kind="llm", status="ok",
                   input={"id": f"X-{i}", "note": f"call {i}"}, output=f"X-{i}")
            for i in range(40)]  # fmt: skip
    log = str(write_jsonl(tmp_path / "log.jsonl", rows))
    out = tmp_path / "pkg"
    migrated = runner.invoke(cli, ["migrate", log, "--out", str(out)])
    assert migrated.exit_code == 0, migrated.output
    assert migrated.stdout == "wf: 1 step(s) written as code, 0 draft(s), 0 stub(s)\n"
    assert len(drawn) == 1
    checked = runner.invoke(cli, ["verify", str(out), log, "--format", "json"])
    assert checked.exit_code == 0, checked.output
    assert len(drawn) == 2
    (check,) = json.loads(checked.stdout)["steps"]
    assert (check["step"], check["cases"], check["agreed"]) == ("pick", 40, 40)


def test_trends_use_the_prices_the_assessment_looked_up(tmp_path: Path, runner, monkeypatch):
    """`--by` prices each period with the rates the measures registered: looked up once."""
    from solidify.assess import assessment, trends

    looked_up = []

    def counted(register):
        def wrapper(*args, **kwargs):
            looked_up.append(register)
            return register(*args, **kwargs)

        return wrapper

    for module in (assessment, trends):
        monkeypatch.setattr(module, "register_rates", counted(module.register_rates))
    rows = [record(run_id=f"r{i}", step="ask", kind="llm", model="claude-haiku-4-5",
                   input_tokens=1000, output_tokens=100,
                   started_at=f"2026-0{1 + i % 2}-03T10:00:00Z")
            for i in range(10)]  # fmt: skip
    log = str(write_jsonl(tmp_path / "log.jsonl", rows))
    result = runner.invoke(cli, ["assess", log, "--by", "month", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    assert len(looked_up) == 1
    data = json.loads(result.stdout)
    (step,) = data["workflows"][0]["steps"]
    periods = data["trends"]["periods"]
    assert [p["period"] for p in periods] == ["2026-01-01", "2026-02-01"]
    spent = sum(p["cost_per_run_usd"] * p["runs"] for p in periods)
    assert step["cost_usd"] > 0 and spent == pytest.approx(step["cost_usd"])


@pytest.mark.parametrize("shown", [False, True], ids=["outside a command", "while stopping"])
def test_an_interrupt_that_escapes_the_command_is_still_one_line_and_130(
    monkeypatch, capsys, shown: bool
) -> None:
    """Ctrl-C before a command runs, or again while the first is handled: `Aborted!` once
    and the interrupt's status, not a traceback and Python's death by SIGINT."""
    import signal

    from solidify import cli as module

    def interrupted(**_: object) -> None:
        if shown:
            Aborted().show()
        raise KeyboardInterrupt

    monkeypatch.setattr(module, "cli", interrupted)
    monkeypatch.setattr(module, "_SHOWN", [])
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with pytest.raises(SystemExit) as ended:
            module.main()
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    assert ended.value.code == ExitStatus.INTERRUPTED
    assert capsys.readouterr().err == "Aborted!\n"
