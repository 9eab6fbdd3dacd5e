"""One error type per domain. The CLI turns each into a one-line message and an exit code.

Exit codes (documented in README.md):
    0  success
    1  a gate failed (assess thresholds, verify below --min-agreement)
    2  usage error (bad option; click's own code)
    3  bad input: a log, a config file or a generated package could not be read
    4  output refused: a file exists and --force was not given, or it could not be written
    5  the model API failed (migrate --llm)
"""

from __future__ import annotations


class SolidifyError(Exception):
    """Base class; `exit_code` is what the CLI exits with."""

    exit_code = 1


class InputError(SolidifyError):
    """A log file, path or record that cannot be read as asked."""

    exit_code = 3

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

    exit_code = 3


class OutputError(SolidifyError):
    """A file that would be overwritten without --force, or that cannot be written."""

    exit_code = 4


class GateFailed(SolidifyError):
    """A CI gate (assess --fail-*, verify --min-agreement) was not met."""

    exit_code = 1


class LLMError(SolidifyError):
    """The model API could not produce usable code."""

    exit_code = 5


def format_location(file: str | None, line: int | None, field: str | None, message: str) -> str:
    """`FILE:LINE: field: message`, leaving out the parts that are unknown."""
    where = ""
    if file is not None:
        where = f"{file}:{line}: " if line is not None else f"{file}: "
    if field:
        where += f"{field}: "
    return where + message
