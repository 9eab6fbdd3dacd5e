"""The command line: thin commands that parse options and call the library.

pandas, matplotlib and anthropic are imported inside the commands, so that
`solidify --help` answers at once.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from solidify import __version__
from solidify.errors import SolidifyError

if TYPE_CHECKING:
    from solidify.assess.ingest import Ingested

SHOWN_PROBLEMS = 5


class CommandError(click.ClickException):
    """A SolidifyError at the CLI edge: one line on stderr, the domain's exit code."""

    def __init__(self, error: SolidifyError) -> None:
        super().__init__(str(error))
        self.exit_code = error.exit_code


def handle_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except SolidifyError as error:
            raise CommandError(error) from None

    return wrapper


def logs_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """LOGS... and the reading options every command shares."""
    command = click.option(
        "--strict",
        is_flag=True,
        help="Stop at the first bad record instead of skipping it.",
    )(command)
    return click.argument("logs", nargs=-1, required=True, metavar="LOGS...")(command)


def load_logs(logs: tuple[str, ...], strict: bool) -> Ingested:
    """Read the logs with a progress bar on stderr, and report skipped records there."""
    from solidify.assess.ingest import discover, file_size, read_logs

    total = sum(file_size(name) for name in discover(logs))
    show = sys.stderr.isatty() and total > 20_000_000
    with click.progressbar(
        length=total or 1, label="reading logs", file=sys.stderr, hidden=not show
    ) as bar:
        result = read_logs(logs, strict=strict, progress=bar.update)
    report_problems(result)
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
    """Measure AI workflows from their run logs and turn the mechanical steps into code.

    \b
    Exit codes: 0 ok, 1 a gate failed, 2 usage error, 3 bad input,
                4 output exists or cannot be written, 5 model API error.
    """


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
    result = load_logs(logs, strict)
    write_step_table(result.table, out, force=force)
    click.echo(
        f"wrote {len(result.table)} step executions from {len(result.files)} file(s) to {out}",
        err=True,
    )


@cli.command()
@logs_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@handle_errors
def assess(logs: tuple[str, ...], strict: bool, fmt: str) -> None:
    """Score every step of every workflow in LOGS and recommend what to do with it."""
    from solidify.assess.summary import summarise

    result = load_logs(logs, strict)
    summary = summarise(result.table)
    if fmt == "json":
        import orjson

        click.echo(orjson.dumps(summary, option=orjson.OPT_INDENT_2).decode())
    else:
        for wf in summary["workflows"]:
            click.echo(f"{wf['workflow']}: {wf['runs']} runs, {wf['executions']} executions")
            for step in wf["steps"]:
                click.echo(
                    f"  {step['step']:<32} {step['kind']:<6} {step['executions']:>7} "
                    f"executions {step['errors']:>5} errors"
                )


def main() -> None:
    cli(prog_name="solidify")
