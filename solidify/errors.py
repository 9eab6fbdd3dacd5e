"""One error type per domain. The CLI turns each into a one-line message and an exit code.

The exit codes are `ExitStatus`; README.md's table is generated from it (cog).
"""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    """What the command line exits with."""

    OK = 0
    GATE_FAILED = 1
    USAGE = 2
    BAD_INPUT = 3
    OUTPUT_REFUSED = 4
    MODEL_API = 5
    INTERRUPTED = 130  # 128 + SIGINT, as shells report a command stopped by Ctrl-C

    @property
    def meaning(self) -> str:
        return _MEANINGS[self]

    @property
    def label(self) -> str:
        """A few words, for --help."""
        return _LABELS[self]


_LABELS = {
    ExitStatus.OK: "ok",
    ExitStatus.GATE_FAILED: "a gate failed",
    ExitStatus.USAGE: "usage error",
    ExitStatus.BAD_INPUT: "bad input",
    ExitStatus.OUTPUT_REFUSED: "output exists or cannot be written",
    ExitStatus.MODEL_API: "model API error",
    ExitStatus.INTERRUPTED: "interrupted",
}
_MEANINGS = {
    ExitStatus.OK: "success",
    ExitStatus.GATE_FAILED: "a gate you asked for failed (`assess --fail-under-stage`, "
    "`--fail-over-replaceable`, `verify --min-agreement`)",
    ExitStatus.USAGE: "usage error: an unknown option, a bad option value or a missing argument, "
    "or an engine that cannot start here (`--engine spark` without PySpark or Java)",
    ExitStatus.BAD_INPUT: "bad input: a log, path or config file that cannot be read (the "
    "message names the file, line and field), a CSV or Parquet log without a required column, "
    "or logs whose every record was rejected",
    ExitStatus.OUTPUT_REFUSED: "output refused: the file exists and `--force` was not given, or "
    "it cannot be written",
    ExitStatus.MODEL_API: "the model API failed (`migrate --llm`): no key, key refused, rate "
    "limited, overloaded, unreachable",
    ExitStatus.INTERRUPTED: "stopped by Ctrl-C or SIGTERM (`Aborted!`): workers are stopped, "
    "temporary files removed and no output is left half-written",
}


class SolidifyError(Exception):
    """Base class; `exit_code` is what the CLI exits with."""

    exit_code = ExitStatus.GATE_FAILED


class InputError(SolidifyError):
    """A log file, path or record that cannot be read as asked."""

    exit_code = ExitStatus.BAD_INPUT

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.file = file
        self.line = line
        self.field = field
        self.detail = message
        super().__init__(format_location(file, line, field, message))


class ConfigError(SolidifyError):
    """solidify.yaml or an option value that does not make sense."""

    exit_code = ExitStatus.BAD_INPUT


class OutputError(SolidifyError):
    """A file that would be overwritten without --force, or that cannot be written."""

    exit_code = ExitStatus.OUTPUT_REFUSED


class GateFailed(SolidifyError):
    """A CI gate (assess --fail-*, verify --min-agreement) was not met."""

    exit_code = ExitStatus.GATE_FAILED


class LLMError(SolidifyError):
    """The model API could not produce usable code."""

    exit_code = ExitStatus.MODEL_API


def format_location(file: str | None, line: int | None, field: str | None, message: str) -> str:
    """`FILE:LINE: field: message`, leaving out the parts that are unknown."""
    where = ""
    if file is not None:
        where = f"{file}:{line}: " if line is not None else f"{file}: "
    if field:
        where += f"{field}: "
    return where + message
