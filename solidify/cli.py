"""The command line: thin commands that parse options and call the library.

pandas, matplotlib and anthropic are imported inside the commands, so that
`solidify --help` answers at once.
"""

from __future__ import annotations

import functools
import gc
import signal
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from solidify import __version__
from solidify.errors import ExitStatus, GateFailed, InputError, OutputError, SolidifyError

if TYPE_CHECKING:
    from solidify.assess.ingest import Ingested

SHOWN_PROBLEMS = 5
DB_HELP = (
    "History database (SQLite); default: $SOLIDIFY_HOME/history.db, else the platform's "
    "user data folder."
)


class CommandError(click.ClickException):
    """A SolidifyError at the CLI edge: one line on stderr, the domain's exit code."""

    def __init__(self, error: SolidifyError) -> None:
        super().__init__(str(error))
        self.exit_code = error.exit_code


class Aborted(click.ClickException):
    """Ctrl-C or SIGTERM: click's `Aborted!`, with the exit status of an interrupt."""

    exit_code = ExitStatus.INTERRUPTED

    def __init__(self) -> None:
        super().__init__("Aborted!")

    def show(self, file: Any = None) -> None:
        _SHOWN.append(True)
        click.echo("Aborted!", err=True)


# The signals `main` has received. An interrupt that lands inside an engine's query comes
# back as the engine's own error (DuckDB: "Query interrupted", or the KeyboardInterrupt
# of a function it called); after one of these, any error is the interrupt.
_SIGNALS: list[int] = []
_SHOWN: list[bool] = []  # whether `Aborted!` was written


def handle_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except KeyboardInterrupt:
            raise Aborted() from None
        except Exception as error:
            if _SIGNALS:
                raise Aborted() from None
            if isinstance(error, SolidifyError):
                raise CommandError(error) from None
            raise

    return wrapper


def logs_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """LOGS... and the reading options every command shares."""
    command = click.option(
        "--strict",
        is_flag=True,
        help="Stop at the first bad record instead of skipping it.",
    )(command)
    command = click.option(
        "--input-format",
        metavar="NAME",
        expose_value=False,
        callback=_remember_format,
        help="Read every log as this format instead of recognising it (see docs/formats.md): "
        "canonical, otlp, spans, attributes, langfuse, langsmith, kestra, kestra-flow, "
        "openai-batch, anthropic-batch, claude-code.",
    )(command)
    return click.argument("logs", nargs=-1, required=True, metavar="LOGS...")(command)


def _remember_format(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    ctx.meta["solidify.input_format"] = value


def engine_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """--engine: where the logs are read (DuckDB here, or Apache Spark)."""
    return click.option(
        "--engine",
        metavar="ENGINE",
        default="duckdb",
        expose_value=False,
        callback=_remember_engine,
        help="duckdb (default: on this machine) or Apache Spark: spark (local mode, or Spark "
        "Connect at $SPARK_REMOTE) or spark://HOST:PORT (needs solidify[spark] and Java 17).",
    )(command)


def _remember_engine(ctx: click.Context, param: click.Parameter, value: str) -> None:
    from solidify.assess.spark import parse_engine

    try:
        ctx.meta["solidify.engine"] = parse_engine(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from None


def load_logs(logs: tuple[str, ...], strict: bool) -> Ingested:
    """Read the logs with a progress bar on stderr, and report skipped records there.
    The caller closes the result (its step table's temporary folder goes with it)."""
    from solidify.assess.ingest import discover, file_size, read_logs

    engine, master = click.get_current_context().meta.get("solidify.engine", ("duckdb", None))
    if engine == "spark":
        from solidify.assess.spark import read_with_spark

        input_format = click.get_current_context().meta.get("solidify.input_format")
        result = read_with_spark(logs, master=master, strict=strict, input_format=input_format)
        return _checked(result)

    total = sum(file_size(name) for name in discover(logs))
    show = sys.stderr.isatty() and total > 20_000_000
    with click.progressbar(
        length=total or 1, label="reading logs", file=sys.stderr, hidden=not show
    ) as bar:
        result = read_logs(
            logs,
            strict=strict,
            progress=bar.update,
            input_format=click.get_current_context().meta.get("solidify.input_format"),
        )
    return _checked(result)


def _checked(result: Ingested) -> Ingested:
    report_problems(result)
    if result.problems.count and not len(result.table):
        result.close()
        first = result.problems.first[0] if result.problems.first else "?"
        raise InputError(f"every record was rejected ({result.problems.count}); first: {first}")
    return result


def report_problems(result: Ingested) -> None:
    problems = result.problems
    if not problems.count:
        return
    for problem in problems.first[:SHOWN_PROBLEMS]:
        click.echo(f"warning: skipped {problem}", err=True)
    more = problems.count - min(len(problems.first), SHOWN_PROBLEMS)
    if more > 0:
        click.echo(f"warning: ... and {more} more bad records skipped", err=True)
    click.echo(
        f"warning: {problems.count} bad record(s) skipped; --strict stops at the first",
        err=True,
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="solidify")
def cli() -> None:
    """Measure AI workflows from their run logs and turn the mechanical steps into code."""


# The exit codes in --help come from the enum, like README.md's table.
cli.help = (
    (cli.help or "")
    + "\n\n\b\nExit codes:\n"
    + "\n".join(f"  {status.value:>3}  {status.label}" for status in ExitStatus)
)


@cli.command()
@logs_options
@click.option("--out", "-o", required=True, help="Parquet file to write the step table to.")
@click.option("--force", is_flag=True, help="Overwrite --out if it exists.")
@handle_errors
def ingest(logs: tuple[str, ...], strict: bool, out: str, force: bool) -> None:
    """Validate and normalise LOGS once into a Parquet step table.

    Every other command reads that file as fast as it can.
    """
    from solidify.assess.ingest import write_step_table
    from solidify.io import check_writable

    check_writable(out, force=force)
    with load_logs(logs, strict) as result:
        frame = result.frame()
    write_step_table(frame, out, force=force)
    click.echo(
        f"wrote {len(frame)} step executions from {len(result.files)} file(s) to {out}",
        err=True,
    )


def config_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False),
        help="solidify.yaml with price overrides and thresholds (default: ./solidify.yaml).",
    )(command)


def filter_options(verb: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """--workflow and --step: glob patterns (fnmatch, case-sensitive), the same for every
    command; `verb` says what the command does with the steps it selects."""

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        command = click.option(
            "--step",
            "steps",
            multiple=True,
            metavar="PATTERN",
            help=f"Only {verb} steps whose name matches this glob (repeatable).",
        )(command)
        return click.option(
            "--workflow",
            "workflows",
            multiple=True,
            metavar="PATTERN",
            help=f"Only {verb} workflows whose name matches this glob (repeatable).",
        )(command)

    return decorate


OUTPUT_FORMATS = ("text", "json", "csv", "markdown")


def output_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--format, the same choices for every command that writes results to stdout."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(OUTPUT_FORMATS),
        default="text",
        show_default=True,
        help="text for people, json for scripts (full precision), csv (a row per item) or "
        "markdown.",
    )(command)


def emit(
    fmt: str,
    *,
    data: Callable[[], Any],
    text: Callable[[], str],
    rows: Callable[[], list[dict[str, Any]]] | None = None,
    csv: Callable[[], str] | None = None,
    markdown: Callable[[], str] | None = None,
) -> None:
    """The one output function: each format from its own builder, only the one asked for
    is built. csv and markdown default to a table of `rows`."""
    if fmt == "json":
        from solidify.reports.jsonout import dumps

        out = dumps(data())
    elif fmt == "csv":
        from solidify.reports.tables import rows_to_csv

        out = csv() if csv else rows_to_csv(rows() if rows else [])
    elif fmt == "markdown":
        from solidify.reports.tables import rows_to_markdown

        out = markdown() if markdown else rows_to_markdown(rows() if rows else [])
    else:
        out = text()
    click.echo(out, nl=False, color=(sys.stdout.isatty() or None) if fmt == "text" else None)


@contextmanager
def run_assessment(
    logs: tuple[str, ...],
    strict: bool,
    config_path: str | None,
    workflows: tuple[str, ...],
    steps: tuple[str, ...] = (),
    known: Any = None,
) -> Iterator[tuple[Any, Any, Any]]:
    """Read logs and assess them, with progress on stderr when it is a terminal.
    Gives (the logs read, assessment, config); the logs' step table stays open (for
    trends or examples) until the block ends. `known`: programs kept in the history
    (solidify.assess.kept), re-checked before searching."""
    from solidify.assess.assessment import assess as run
    from solidify.assess.config import load_config

    config = load_config(config_path)
    show = sys.stderr.isatty()

    def progress(label: str) -> None:
        if show:
            click.echo(f"\r\033[Kfinding code for {label}", nl=False, err=True)

    with load_logs(logs, strict) as result:
        assessment = run(result.table, config, workflows=workflows, steps=steps,
                         progress=progress, known=known)  # fmt: skip
        if show:
            click.echo("\r\033[K", nl=False, err=True)
        for warning in assessment.warnings:
            click.echo(f"warning: {warning}", err=True)
        check_patterns("workflow", workflows, (w.workflow for w in assessment.workflows))
        shown = (s.step for w in assessment.workflows for s in assessment.visible_steps(w))
        check_patterns("step", steps, shown, within=workflows)
        yield result, assessment, config


def check_patterns(
    kind: str, patterns: tuple[str, ...], names: Iterable[str], within: tuple[str, ...] = ()
) -> None:
    """Bad input when patterns were given and none matches a name; a warning for each
    pattern that matches nothing while others do (a typo among several)."""
    from solidify.globs import unmatched

    missing = unmatched(patterns, names)
    scope = f" in {', '.join(within)}" if within else ""
    if patterns and len(missing) == len(patterns):
        raise InputError(f"no {kind} matches {', '.join(patterns)}{scope}")
    for pattern in missing:
        click.echo(f"warning: no {kind} matches {pattern}{scope}", err=True)


@cli.command()
@logs_options
@config_option
@filter_options("assess")
@output_options
@engine_option
@click.option(
    "--by",
    type=click.Choice(["day", "week", "month"]),
    help="Also show trends by period from the logs' timestamps (text, json and markdown).",
)
@click.option("--record", is_flag=True, help="Append this assessment to the history database.")
@click.option("--db", type=click.Path(dir_okay=False), help=DB_HELP)
@click.option(
    "--fresh",
    is_flag=True,
    help="Search every step afresh instead of first re-checking the program the history "
    "database kept for it.",
)
@click.option(
    "--fail-under-stage",
    type=click.IntRange(1, 4),
    help="Exit 1 when a workflow is below this maturity stage (for CI).",
)
@click.option(
    "--fail-over-replaceable",
    type=click.FloatRange(0, 1),
    help="Exit 1 when a workflow spends more than this share of its cost on replaceable steps.",
)
@handle_errors
def assess(
    logs: tuple[str, ...],
    strict: bool,
    config_path: str | None,
    workflows: tuple[str, ...],
    steps: tuple[str, ...],
    fmt: str,
    by: str | None,
    record: bool,
    db: str | None,
    fresh: bool,
    fail_under_stage: int | None,
    fail_over_replaceable: float | None,
) -> None:
    """Score every step of every workflow in LOGS and recommend what to do with it.

    Each AI step gets cost, failure rate and determinism, a search for code that
    reproduces it (checked on held-out examples), and one of replace, cache,
    downgrade, harden or keep. Each workflow gets its maturity stage and the next
    steps to climb.
    """
    from solidify.assess import kept

    # A program kept by an earlier `--record` is re-checked first and reused if it holds.
    known = {} if fresh else kept.load(db)
    from solidify.reports import tables, text

    periods = []
    with run_assessment(logs, strict, config_path, workflows, steps, known) as (
        result, assessment, config,
    ):  # fmt: skip
        if by:
            from solidify.assess.trends import trends

            periods = trends(result.table, assessment, config, by=by, priced=True)

    def data() -> dict[str, Any]:
        out = assessment.to_dict()
        if by:
            out["trends"] = {"by": by, "periods": [p.to_dict() for p in periods]}
        return out

    def as_text() -> str:
        return text.render(assessment) + (text.render_trends(periods, by) if by else "")

    def as_markdown() -> str:
        grouped: dict[str, list] = {}
        for p in periods:
            grouped.setdefault(p.workflow, []).append(p)
        return tables.to_markdown(assessment, periods=grouped, by=by or "month")

    emit(fmt, data=data, text=as_text, csv=lambda: tables.to_csv(assessment),
         markdown=as_markdown)  # fmt: skip
    if record:
        from solidify.reports import history

        count = history.record(assessment, db, sources=list(logs))
        click.echo(f"recorded {count} workflow assessment(s) in {history.resolve(db)}", err=True)
    gate(assessment, fail_under_stage, fail_over_replaceable)


def gate(assessment: Any, under_stage: int | None, over_replaceable: float | None) -> None:
    failures = []
    for w in assessment.workflows:
        if under_stage is not None and w.maturity.level < under_stage:
            failures.append(f"{w.workflow} is at stage {w.maturity.level}, below {under_stage}")
        if over_replaceable is not None and w.replaceable_cost_share > over_replaceable:
            failures.append(
                f"{w.workflow} spends {w.replaceable_cost_share:.0%} of its cost on replaceable "
                f"steps, over {over_replaceable:.0%}"
            )
    if failures:
        raise GateFailed("; ".join(failures))


@cli.command()
@logs_options
@config_option
@filter_options("migrate")
@click.option("--out", "-o", required=True, help="Folder of the generated package.")
@click.option(
    "--min-coverage",
    type=click.FloatRange(0, 1),
    default=0.95,
    show_default=True,
    help="Held-out coverage a program needs to become code (otherwise the step is a stub).",
)
@click.option("--force", is_flag=True, help="Overwrite files that exist in --out.")
@click.option("--llm", is_flag=True, help="Ask Claude to write the steps synthesis left as stubs.")
@click.option(
    "--model",
    default="claude-sonnet-5-5",
    show_default=True,
    help="Model for --llm.",
)
@click.option(
    "--base-url",
    envvar="ANTHROPIC_BASE_URL",
    help="Messages API address for --llm (default: the SDK's; env ANTHROPIC_BASE_URL).",
)
@click.option(
    "--llm-attempts",
    type=click.IntRange(1, 5),
    default=3,
    show_default=True,
    help="Tries per step for --llm; each retry shows the model its counterexamples.",
)
@handle_errors
def migrate(
    logs: tuple[str, ...],
    strict: bool,
    config_path: str | None,
    workflows: tuple[str, ...],
    steps: tuple[str, ...],
    out: str,
    min_coverage: float,
    force: bool,
    llm: bool,
    model: str,
    base_url: str | None,
    llm_attempts: int,
) -> None:
    """Generate deterministic code for the steps of LOGS that should stop being AI.

    Writes a package to --out: one module per workflow with a function per step and a
    STEPS registry, tests built from held-out logged examples, a shadow-mode wrapper
    and a README. Steps no program reproduces are stubs that carry their examples.
    """
    from solidify.migrate.package import build_files, plan, write_package

    target = Path(out)
    if target.exists() and not target.is_dir():
        raise OutputError(f"{target}: exists and is not a folder")
    with run_assessment(logs, strict, config_path, workflows) as (_, assessment, _):
        pass
    samples = assessment.samples  # the examples searched: the tests' cases
    check_patterns("step", steps, (s.step for w in assessment.workflows for s in w.steps),
                   within=workflows)  # fmt: skip
    the_plan = plan(assessment, samples, min_coverage=min_coverage, steps=steps)
    if not any(the_plan.steps.values()):
        click.echo("note: no AI step is reproducible or asked for (--step); the modules' STEPS "
                   "are empty", err=True)  # fmt: skip
    if llm:
        from solidify.migrate.llm import LLMSettings, write_stubs

        settings = LLMSettings(model=model, base_url=base_url, attempts=llm_attempts,
                               min_coverage=min_coverage)  # fmt: skip
        report = write_stubs(the_plan, settings, log=lambda m: click.echo(m, err=True))
        click.echo(report.summary(), err=True)
    files = build_files(the_plan)
    written = write_package(target, files, force=force)
    for workflow, codes in the_plan.steps.items():
        solved = sum(1 for c in codes if c.solved)
        drafts = sum(1 for c in codes if c.draft and not c.solved)
        stubs = len(codes) - solved - drafts
        click.echo(f"{workflow}: {solved} step(s) written as code, {drafts} draft(s), "
                   f"{stubs} stub(s)")  # fmt: skip
    click.echo(f"wrote {len(written)} files to {target}", err=True)


@cli.command()
@click.argument("package", type=click.Path(file_okay=False))
@logs_options
@config_option
@filter_options("verify")
@click.option(
    "--min-agreement",
    type=click.FloatRange(0, 1),
    default=0.95,
    show_default=True,
    help="Exit 1 when a written step agrees with fewer logged outputs than this.",
)
@click.option("--timeout", type=float, default=120.0, show_default=True,
              help="Seconds the generated code may run per workflow.")  # fmt: skip
@output_options
@handle_errors
def verify(
    package: str,
    logs: tuple[str, ...],
    strict: bool,
    config_path: str | None,
    workflows: tuple[str, ...],
    steps: tuple[str, ...],
    min_agreement: float,
    timeout: float,
    fmt: str,
) -> None:
    """Replay the logged examples of LOGS through PACKAGE's STEPS and report agreement.

    The generated code runs in a separate interpreter with a time limit. --config is read
    and checked like assess's, so that one command line serves both.
    """
    from solidify.assess.config import load_config
    from solidify.assess.sampling import step_samples
    from solidify.globs import matches
    from solidify.migrate.verify import verify as run_verify

    load_config(config_path)
    with load_logs(logs, strict) as result:
        every = step_samples(result.table)
    check_patterns("workflow", workflows, (workflow for workflow, _ in every))
    chosen = {key: sample for key, sample in every.items() if matches(key[0], workflows)}
    check_patterns("step", steps, (step for _, step in chosen), within=workflows)
    samples = {key: sample for key, sample in chosen.items() if matches(key[1], steps)}
    report = run_verify(package, samples, timeout=timeout)

    def rows() -> list[dict[str, Any]]:
        keys = ("workflow", "step", "cases", "agreed", "agreement", "errors", "stub")
        return [{k: c[k] for k in keys} for c in report.to_dict()["checks"]]

    def as_text() -> str:
        lines = []
        for check in report.checks:
            state = "stub" if check.stub else f"{check.agreement:7.1%}"
            counts = f"{check.agreed}/{check.cases} agree, {check.errors} error(s)"
            lines.append(f"{check.workflow:<20} {check.step:<28} {state:>8}  {counts}")
            for miss in check.mismatches[:2] if not check.stub else []:
                shown = miss.get("error") or f"got {_short(miss.get('got'))}"
                lines.append(f"    input {_short(miss['input'])}: expected "
                             f"{_short(miss['expected'])}, {shown}")  # fmt: skip
        return "".join(line + "\n" for line in lines)

    emit(fmt, data=report.to_dict, text=as_text, rows=rows)
    for problem in report.problems:
        click.echo(f"warning: {problem}", err=True)
    if not report.checks:
        raise InputError(f"{package}: no step of these logs is in the package's STEPS")
    low = report.below(min_agreement)
    if low:
        names = ", ".join(f"{c.workflow}/{c.step} ({c.agreement:.1%})" for c in low)
        raise GateFailed(f"below {min_agreement:.0%} agreement: {names}")


def _short(value: Any, limit: int = 80) -> str:
    import json

    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@cli.command()
@logs_options
@config_option
@filter_options("report")
@engine_option
@click.option("--out", "-o", required=True, help="Report file: .html or .md.")
@click.option(
    "--format", "fmt", type=click.Choice(["html", "markdown"]),
    help="Format, when the extension does not say.",
)  # fmt: skip
@click.option(
    "--by",
    type=click.Choice(["auto", "day", "week", "month"]),
    default="auto",
    show_default=True,
    help="Period for the trends read from the logs' timestamps.",
)
@click.option("--db", type=click.Path(dir_okay=False), help=DB_HELP)
@click.option("--force", is_flag=True, help="Overwrite the report if it exists.")
@handle_errors
def report(
    logs: tuple[str, ...],
    strict: bool,
    config_path: str | None,
    workflows: tuple[str, ...],
    steps: tuple[str, ...],
    out: str,
    fmt: str | None,
    by: str,
    db: str | None,
    force: bool,
) -> None:
    """Write a report of LOGS: stages, costs, what to replace next, charts and trends.

    HTML is one self-contained file (inline styles and charts, nothing loaded from
    elsewhere); Markdown writes its charts as PNG files next to it.
    """
    from solidify.assess.trends import auto_period, trends
    from solidify.io import check_writable
    from solidify.reports import history
    from solidify.reports.report import ReportData, format_for, write_report

    kind = format_for(out, fmt)
    check_writable(out, force=force)
    recorded = history.load_if_any(db)  # a named --db that is missing fails before the work
    with run_assessment(logs, strict, config_path, workflows, steps) as (
        result, assessment, config,
    ):  # fmt: skip
        period = by if by != "auto" else auto_period(result.table)
        periods = trends(result.table, assessment, config, by=period, priced=True)
    data = ReportData(assessment, periods=periods, history=recorded, by=period,
                      sources=list(logs))  # fmt: skip
    written = write_report(data, out, fmt=kind, force=force)
    click.echo(f"wrote {written[-1]}" + (f" and {len(written) - 1} chart file(s)"
                                         if len(written) > 1 else ""), err=True)  # fmt: skip


@cli.command(name="history")
@click.option(
    "--workflow",
    "workflows",
    multiple=True,
    metavar="PATTERN",
    help="Only workflows whose name matches this glob (repeatable).",
)
@click.option("--db", type=click.Path(dir_okay=False), help=DB_HELP)
@output_options
@handle_errors
def history_command(workflows: tuple[str, ...], db: str | None, fmt: str) -> None:
    """List recorded assessments, oldest first (record them with `assess --record`)."""
    from solidify.reports import history

    # Nothing recorded yet in the default place is an empty history; a named --db must exist.
    if db is None and not history.default_path().exists():
        entries = []
    else:
        entries = history.load(db, workflow=workflows)

    def rows() -> list[dict[str, Any]]:
        return [
            {"recorded_at": e["recorded_at"], "workflow": e["workflow"], "runs": e["runs"],
             "cost_usd": e["cost_usd"], "cost_per_run_usd": e["cost_per_run_usd"],
             "ai_execution_share": e["ai_execution_share"],
             "replaceable_cost_share": e["replaceable_cost_share"],
             "stage": e["maturity"]["level"], "stage_name": e["maturity"]["name"]}
            for e in entries
        ]  # fmt: skip

    def as_text() -> str:
        if not entries:
            return (
                "no recorded assessment"
                + (f" of {', '.join(workflows)}" if workflows else "")
                + "\n"
            )
        lines = [f"{'recorded':<21} {'workflow':<24} {'runs':>6} {'$/run':>9} {'AI':>5} "
                 f"{'replaceable':>11}  stage"]  # fmt: skip
        for e in entries:
            per_run = e["cost_per_run_usd"]
            lines.append(
                f"{e['recorded_at']:<21} {e['workflow'][:24]:<24} {e['runs']:>6} "
                f"{'-' if per_run is None else f'{per_run:.4f}':>9} "
                f"{e['ai_execution_share']:>5.0%} {e['replaceable_cost_share']:>11.0%}  "
                f"{e['maturity']['level']} {e['maturity']['name']}"
            )
        return "".join(line + "\n" for line in lines)

    emit(fmt, data=lambda: entries, text=as_text, rows=rows)


def _interrupt(signum: int, _frame: object) -> None:
    _SIGNALS.append(signum)
    raise KeyboardInterrupt


def main() -> None:
    # A polite kill stops the command like Ctrl-C does: helpers are stopped and
    # temporary files removed on the way out.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        cli(prog_name="solidify")
    except KeyboardInterrupt:
        # An interrupt outside a command, or one more while the first is handled (a
        # second Ctrl-C, one an engine raises again as it stops): still one line and an
        # interrupt's exit status, not Python's own death by SIGINT.
        if not _SHOWN:
            Aborted().show()
        sys.exit(ExitStatus.INTERRUPTED)
    finally:
        # The system frees what is left at exit: the collector need not walk a large
        # step table's objects first (about 0.3 s at 500 k records). Clean-up still runs.
        gc.freeze()
