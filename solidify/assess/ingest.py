"""Read run logs (files, folders, stdin) into one step table, held by DuckDB.

Canonical JSON Lines are read by DuckDB itself (solidify.assess.jsonl_sql). The
other readers yield `(line, record)` pairs in the canonical shape; the
BatchBuilder validates them in chunks and hands Arrow batches to the same table,
so memory while parsing is bounded by the chunk, not by the file.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import itertools
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import msgspec
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from solidify.assess import exports_sql, formats, jsonl_sql, langsmith_sql, tabular_sql
from solidify.assess.canonical import canonical_bytes
from solidify.assess.jsonl_sql import (
    blocks,
    python_rows,
    read_block,
    read_whole,
    scannable,
    settle,
)
from solidify.assess.records import BatchBuilder, Problems, Unreadable, in_memory
from solidify.assess.schema import (
    CATEGORY_COLUMNS,
    RECORD_FIELDS,
    STEP_TABLE_MARKER,
    STEP_TABLE_SCHEMA,
)
from solidify.assess.steptable import TABLE, StepTable
from solidify.errors import InputError

if TYPE_CHECKING:  # pandas only for the frame: reading starts without it
    import pandas as pd

Progress = Callable[[int], None]

# Ending -> reader name. Longest endings are tried first.
EXTENSIONS = {
    ".jsonl.gz": "jsonl",
    ".ndjson.gz": "jsonl",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".parquet": "parquet",
    ".yaml": "yaml",
    ".yml": "yaml",
}
STDIN = "-"
_SNIFF = 8192


@dataclass
class Ingested:
    """The step table and what was skipped on the way; close it (or use `with`)."""

    table: StepTable
    problems: Problems = field(default_factory=Problems)
    files: list[str] = field(default_factory=list)

    def frame(self) -> pd.DataFrame:
        """The step table as pandas, texts in the canonical form (the assessment's input
        until it queries the engine)."""
        return to_frame(canonical_texts(self.table.arrow()))

    def close(self) -> None:
        self.table.close()

    def __enter__(self) -> Ingested:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def canonical_texts(table: pa.Table) -> pa.Table:
    """`input`, `output` and `extra` in the canonical form (msgspec's). The step table
    holds them with keys sorted already; only the few texts where DuckDB spells a scalar
    otherwise (`jsonl_sql.MAY_DIFFER`) are rewritten."""
    decode = msgspec.json.decode
    for name in ("input", "output", "extra"):
        at = table.schema.get_field_index(name)
        column = table.column(at).combine_chunks()
        found = pc.fill_null(pc.match_substring_regex(column, jsonl_sql.MAY_DIFFER), False)
        if not pc.any(found).as_py():
            continue
        texts = column.filter(found).to_pylist()
        fixed = pa.array([canonical_bytes(decode(t)).decode() for t in texts], pa.string())
        table = table.set_column(at, name, pc.replace_with_mask(column, found, fixed))
    return table


def reader_for(path: str) -> str | None:
    name = path.lower()
    for ending in sorted(EXTENSIONS, key=len, reverse=True):
        if name.endswith(ending):
            return EXTENSIONS[ending]
    return None


def discover(paths: Sequence[str]) -> list[str]:
    """Expand folders recursively (by extension) and check that every path exists."""
    found: list[str] = []
    for raw in paths:
        if raw == STDIN:
            found.append(STDIN)
            continue
        path = Path(raw)
        if path.is_dir():
            inside = sorted(
                str(p)
                for p in path.rglob("*")
                if p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
                and reader_for(str(p))
                and (reader_for(str(p)) != "yaml" or _is_flow_yaml(p))
            )
            if not inside:
                known = ", ".join(EXTENSIONS)
                raise InputError(f"folder holds no log files ({known})", file=raw)
            found.extend(inside)
        elif path.is_file():
            if reader_for(raw) is None:
                known = ", ".join(EXTENSIONS)
                raise InputError(f"unknown file type; expected one of {known}", file=raw)
            found.append(raw)
        elif path.exists():
            raise InputError("not a regular file", file=raw)
        else:
            raise InputError("no such file or folder", file=raw)
    if not found:
        raise InputError("no log files given")
    return found


def _is_flow_yaml(path: Path) -> bool:
    """In a folder, a YAML file is read only when it is a Kestra flow: any other
    (a stray config.yaml) is not a log."""
    import yaml

    from solidify.assess.formats.kestra import is_flow

    try:
        return is_flow(yaml.safe_load(path.read_bytes()))
    except (yaml.YAMLError, OSError, ValueError):
        return False


def read_logs(
    paths: Sequence[str],
    *,
    strict: bool = False,
    progress: Progress | None = None,
    stdin: IO[bytes] | None = None,
    input_format: str | None = None,
) -> Ingested:
    """Read every log named by `paths` into one step table.

    The format of each file is recognised from its first record (see
    solidify.assess.formats), unless `input_format` names one.
    """
    if input_format is not None and input_format not in formats.FORMATS:
        raise InputError(f"unknown input format {input_format!r}; known: {formats.known()}")
    problems = Problems()
    files = discover(paths)
    context = formats.Context()
    steps = StepTable()
    try:
        for name in files:
            read_file(name, problems, steps, strict=strict, progress=progress, stdin=stdin,
                      input_format=input_format, context=context)  # fmt: skip
        if context.task_types:
            _apply_task_types(steps, context.task_types)
    except BaseException:
        steps.close()
        raise
    return Ingested(table=steps, problems=problems, files=files)


def _apply_task_types(steps: StepTable, types: dict[str, str]) -> None:
    """Kestra tasks whose flow definition names an AI plugin are model calls."""
    from solidify.assess.formats.kestra import kind_of

    ai = pa.table({"step": [step for step in types if kind_of(types[step]) == "llm"]})
    if not len(ai):
        return
    steps.register("solidify_ai_tasks", ai)
    steps.con.execute(
        f"UPDATE {TABLE} SET kind = 'llm' WHERE contains(extra, '\"orchestrator\":\"kestra\"') "
        "AND step IN (SELECT step FROM solidify_ai_tasks)"
    ).fetchall()
    steps.con.unregister("solidify_ai_tasks")


def read_file(
    name: str,
    problems: Problems,
    steps: StepTable,
    *,
    strict: bool = False,
    progress: Progress | None = None,
    stdin: IO[bytes] | None = None,
    input_format: str | None = None,
    context: formats.Context | None = None,
) -> None:
    """Add one file's (or stdin's) valid records to `steps`."""
    for table in _read_file(name, problems, steps, strict=strict, progress=progress, stdin=stdin,
                            input_format=input_format, context=context):  # fmt: skip
        steps.append(table)


def _read_file(
    name: str,
    problems: Problems,
    steps: StepTable,
    *,
    strict: bool = False,
    progress: Progress | None = None,
    stdin: IO[bytes] | None = None,
    input_format: str | None = None,
    context: formats.Context | None = None,
) -> Iterator[pa.Table]:
    """Validated step-table batches from the Python readers; canonical JSON Lines go
    into `steps` directly."""
    context = context or formats.Context()
    if name == STDIN:
        data = (stdin or sys.stdin.buffer).read()
        display = "<stdin>"
        reader = _sniff_bytes(data, display)
        plain = None

        def opener() -> IO[bytes]:
            return io.BytesIO(data)

    else:
        display = name
        reader = reader_for(name) or "jsonl"
        gz = name.lower().endswith(".gz")
        _check_content(name, gz)
        plain = None if gz else name  # a file DuckDB may scan itself

        def opener() -> IO[bytes]:
            return gzip.open(name, "rb") if gz else open(name, "rb")

    builder = BatchBuilder(display, problems, strict=strict)
    workflow = _default_workflow(display)
    path = None if name == STDIN else name
    if reader == "parquet":
        yield from _read_parquet(opener, display, builder, progress, input_format, context,
                                 path=path, steps=steps)  # fmt: skip
        return
    if reader == "csv" and path and _csv_by_duckdb(path, display, builder, steps):
        if progress:
            progress(file_size(path))
        return
    if reader == "yaml":
        with opener() as handle:
            _read_flow_yaml(handle, display, context)
        return
    with opener() as handle:
        if reader == "jsonl":
            yield from _read_jsonl(handle, display, builder, progress, input_format, context,
                                   steps, plain)  # fmt: skip
            return
        if reader == "json":
            records = _json_records(handle, display, input_format, context, workflow)
        else:
            records = _csv_records(handle, display, progress)
        yield from builder.batches(records)


def _check_content(name: str, gz: bool) -> None:
    """Refuse empty and binary files with one clear line, before any parsing."""
    try:
        with open(name, "rb") as f:
            head = f.read(_SNIFF)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", file=name) from None
    if not head:
        raise InputError("empty file", file=name)
    if name.lower().endswith(".parquet"):
        if not head.startswith(b"PAR1"):
            raise InputError("not a Parquet file (no PAR1 header)", file=name)
        return
    if gz:
        if not head.startswith(b"\x1f\x8b"):
            raise InputError("not a gzip file", file=name)
        try:
            with gzip.open(name, "rb") as g:
                head = g.read(_SNIFF)
        except (OSError, EOFError) as exc:
            raise InputError(f"corrupt gzip data: {exc}", file=name) from None
        if not head.strip():
            raise InputError("empty file (after decompression)", file=name)
    if b"\x00" in head:
        raise InputError("binary file, not a text log", file=name)
    if not head.strip():
        raise InputError("empty file", file=name)


def _sniff_bytes(data: bytes, display: str) -> str:
    if not data.strip():
        raise InputError("empty input", file=display)
    if data.startswith(b"PAR1"):
        return "parquet"
    if data.startswith(b"\x1f\x8b"):
        raise InputError("gzip data on stdin: decompress it first (zcat FILE | ...)", file=display)
    if b"\x00" in data[:_SNIFF]:
        raise InputError("binary data, not a text log", file=display)
    first = data.lstrip()[:1]
    if first == b"[":
        return "json"
    if first != b"{":
        return "csv"
    # One document spread over lines (a trace download) or one record per line?
    try:
        orjson.loads(data)
    except orjson.JSONDecodeError:
        return "jsonl"
    return "json" if b"\n" in data.strip() else "jsonl"


def _loads(raw: bytes) -> Any:
    # msgspec keeps integers beyond 64 bits exact, as DuckDB does (orjson makes them
    # floats); what it refuses (1e400) goes to orjson, whose messages name the problem,
    # and to the stdlib, which reads what orjson refuses on purpose.
    try:
        return _MSGSPEC_DECODE(raw)
    except ValueError:
        pass
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)


_MSGSPEC_DECODE = msgspec.json.decode


def parse_line(raw: bytes) -> Any:
    """One JSON Lines record, or what stands in for a line that is not JSON."""
    try:
        return _loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        return Unreadable(f"not valid JSON: {_short(exc)}")


def _read_jsonl(
    handle: IO[bytes],
    display: str,
    builder: BatchBuilder,
    progress: Progress | None,
    input_format: str | None = None,
    context: formats.Context | None = None,
    steps: StepTable | None = None,
    path: str | None = None,
) -> Iterator[pa.Table]:
    """Canonical records into DuckDB (`steps`): a plain file at `path` in one scan where
    DuckDB can, block by block otherwise. A file of another trace format is read whole
    and mapped first; a file that does not start with a record is read line by line, to
    say what it is."""
    pieces = blocks(handle)
    first = next(pieces, None)
    if first is None:
        return
    kind = input_format or _jsonl_format(first[1], display)
    if kind != "canonical":
        data = first[1] + b"".join(block for _, block in pieces) + handle.read()
        items = _trace_lines(data, display)
        records = formats.to_records(kind, items, _default_workflow(display),
                                     context or formats.Context())  # fmt: skip
        yield from builder.batches(enumerate(_mapped(records, kind, display), 1))
        if progress:
            progress(len(data))
        return
    if not _starts_with_record(first[1]):
        data = io.BytesIO(first[1] + b"".join(block for _, block in pieces) + handle.read())
        yield from builder.batches(_jsonl_records(data, display, progress))
        return
    assert steps is not None
    big = len(first[1]) >= jsonl_sql.SMALL_FILE_BYTES
    if big and path and scannable(path) and read_whole(steps, path, builder):
        if progress:
            progress(file_size(path))
        return
    for first_line, block in itertools.chain([first], pieces):
        if first_line == 1 and len(block) < jsonl_sql.SMALL_FILE_BYTES:
            # A small file whole: the record checks take less time than DuckDB takes
            # to plan its checking query (about 40 ms); both give the same rows.
            python_rows(steps, builder, block.split(b"\n"), first_line)
        else:
            read_block(steps, block, first_line, builder)
        if progress:
            progress(len(block))
    settle(steps, builder)


def _jsonl_format(block: bytes, display: str) -> str:
    """The format of a JSON Lines file, from its first record."""
    for raw in block.split(b"\n"):
        if not raw.strip():
            continue
        try:
            record = _loads(raw)
        except (ValueError, UnicodeDecodeError):
            return "canonical"  # the canonical path says precisely what is wrong
        if not isinstance(record, dict) or set(record) & set(formats.CANONICAL_KEYS):
            return "canonical"
        found = formats.detect(record)
        if found is None:
            raise InputError(
                "records of an unknown format (known: " + formats.known() + "); "
                "name one with --input-format",
                file=display,
            )
        return found
    return "canonical"


def _trace_lines(data: bytes, display: str) -> list[Any]:
    items: list[Any] = []
    for number, raw in enumerate(data.split(b"\n"), 1):
        if not raw.strip():
            continue
        try:
            items.append(_loads(raw))
        except (ValueError, UnicodeDecodeError) as exc:
            if not items:
                raise InputError(f"not valid JSON: {_short(exc)}", file=display,
                                 line=number) from None  # fmt: skip
            # A broken line (a session cut off while written) is one skipped record.
            items.append(Unreadable(f"line {number}: not valid JSON: {_short(exc)}"))
    return items


def _starts_with_record(block: bytes) -> bool:
    for raw in block.split(b"\n"):
        if raw.strip():
            try:
                return isinstance(_loads(raw), dict)
            except (ValueError, UnicodeDecodeError):
                return False
    return False


def _jsonl_records(
    handle: IO[bytes], display: str, progress: Progress | None, start: int = 1
) -> Iterator[tuple[int, Any]]:
    # Whether the file is records at all is decided on its first line only.
    seen_record = start > 1
    done = 0
    for number, raw in enumerate(handle, start):
        done += len(raw)
        if progress and number % 20_000 == 0:
            progress(done)
            done = 0
        if not raw.strip():
            continue
        try:
            record = _loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            if not seen_record:
                _refuse_non_records(handle, display, raw, exc)
            yield number, Unreadable(f"not valid JSON: {_short(exc)}")
            continue
        if not seen_record and not isinstance(record, dict):
            raise InputError(
                f"JSON that is not records: line 1 is {type(record).__name__}, "
                "expected one JSON object per line",
                file=display,
            )
        seen_record = True
        yield number, record
    if progress and done:
        progress(done)


def _refuse_non_records(handle: IO[bytes], display: str, first: bytes, exc: Exception) -> None:
    """A first line that is not JSON: say whether the file is one JSON document instead."""
    if first.lstrip()[:1] in (b"{", b"["):
        rest = first + handle.read()
        try:
            doc = _loads(rest)
        except (ValueError, UnicodeDecodeError):
            pass
        else:
            raise InputError(
                f"one JSON {type(doc).__name__} document, not JSON Lines records "
                "(one object per line)",
                file=display,
            )
    raise InputError(
        f"line 1 is not valid JSON ({_short(exc)}); not a JSON Lines log", file=display
    )


def _json_records(
    handle: IO[bytes],
    display: str,
    input_format: str | None = None,
    context: formats.Context | None = None,
    workflow: str = "workflow",
) -> Iterator[tuple[int, Any]]:
    """A .json document: an array of canonical records, or a trace format's export."""
    try:
        doc = _loads(handle.read())
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"not valid JSON: {_short(exc)}", file=display) from None
    kind = input_format or formats.detect(doc)
    if kind is None:
        raise InputError(
            "JSON that is not records, nor a known trace format (known: " + formats.known() + ")",
            file=display,
        )
    if kind == "canonical":
        if isinstance(doc, dict):
            doc = [doc]
        if not isinstance(doc, list) or not doc:
            raise InputError("JSON that is not records: expected an array of step records",
                             file=display)  # fmt: skip
        # A JSON array has no useful line numbers; the record's position stands in.
        yield from enumerate(doc, 1)
        return
    records = formats.to_records(kind, [doc], workflow, context or formats.Context())
    yield from enumerate(_mapped(records, kind, display), 1)


def _read_flow_yaml(handle: IO[bytes], display: str, context: formats.Context) -> None:
    """A Kestra flow definition: it only tells the executions' readers each task's type."""
    import yaml

    from solidify.assess.formats.kestra import is_flow, task_types

    try:
        doc = yaml.safe_load(handle.read())
    except yaml.YAMLError as exc:
        raise InputError(f"not valid YAML: {_short(exc)}", file=display) from None
    if not is_flow(doc):
        raise InputError("YAML that is not a Kestra flow (id, namespace, tasks)", file=display)
    context.task_types.update(task_types(doc))


def _mapped(records: Iterator[dict[str, Any]], kind: str, display: str) -> Iterator[Any]:
    """A reader that meets data of another shape says so in one line, never a traceback."""
    try:
        yield from records
    except formats.READ_ERRORS as exc:
        detail = str(exc) if isinstance(exc, formats.FormatMismatch) else formats.one_line(exc)
        raise InputError(f"cannot read as {kind}: {detail}", file=display) from None


def _default_workflow(display: str) -> str:
    """A workflow name for formats that have none: the file's name without its endings."""
    name = Path(display).name
    for ending in sorted(EXTENSIONS, key=len, reverse=True):
        if name.lower().endswith(ending):
            return name[: -len(ending)] or name
    return name


def _csv_by_duckdb(path: str, display: str, builder: BatchBuilder, steps: StepTable) -> bool:
    """A CSV file read by DuckDB (tabular_sql); False when the Python reader is to read it
    (a small file: DuckDB's planning costs more; or one DuckDB would read otherwise)."""
    if os.path.getsize(path) < tabular_sql.SMALL_CSV_BYTES:
        return False
    with open(path, "rb") as handle:
        reader = csv.reader(io.TextIOWrapper(handle, encoding="utf-8-sig", newline=""))
        header = _csv_header(reader, display)
        if reader.line_num != 1:
            return False  # a header spread over lines: the Python reader numbers them
    return tabular_sql.read_csv(steps, path, header, builder)


def _csv_header(reader: Any, display: str) -> list[str]:
    """The header row of a CSV log, checked: one error for a file that is not a step log."""
    try:
        header = next(reader)
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text", file=display) from None
    except csv.Error as exc:
        raise InputError(f"not a CSV file: {exc}", file=display) from None
    header = [h.strip() for h in header]
    if not set(header) & {"workflow", "run_id", "step"}:
        raise InputError(
            "CSV header names none of workflow, run_id, step; not a step log", file=display, line=1
        )
    _require_columns(header, display, "CSV", line=1)
    return header


def _csv_records(
    handle: IO[bytes], display: str, progress: Progress | None
) -> Iterator[tuple[int, Any]]:
    text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
    reader = csv.reader(text)
    header = _csv_header(reader, display)
    line = reader.line_num + 1
    count = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except (csv.Error, UnicodeDecodeError) as exc:
            yield line, Unreadable(f"unreadable CSV row: {_short(exc)}")
            break
        count += 1
        if progress and count % 20_000 == 0:
            progress(0)
        if row and any(cell.strip() for cell in row):
            yield line, _csv_row(dict(zip(header, row, strict=False)))
        line = reader.line_num + 1


def _require_columns(
    columns: Sequence[str] | set[str], display: str, kind: str, line: int | None = None
) -> None:
    """A table without a required column would skip every row: one error names it."""
    missing = [name for name in formats.CANONICAL_KEYS if name not in columns]
    if missing:
        raise InputError(
            f"{kind} has no {missing[0]!r} column (required: "
            + ", ".join(formats.CANONICAL_KEYS) + ")",
            file=display, line=line, field=missing[0],
        )  # fmt: skip


def _csv_row(row: dict[str, str]) -> Any:
    record: dict[str, Any] = {}
    for key, cell in row.items():
        if cell == "":
            continue
        kind = RECORD_FIELDS.get(key)
        try:
            if kind == "integer":
                record[key] = int(cell) if cell.strip().lstrip("-").isdigit() else float(cell)
            elif kind == "number":
                record[key] = float(cell)
            elif kind == "json":
                record[key] = _json_cell(cell)
            else:
                record[key] = cell
        except ValueError:
            return Unreadable(f"expected {kind or 'a value'}, got {cell!r}", field=key)
    return record


def _json_cell(cell: str) -> Any:
    """JSON text per the contract; a cell that is not JSON is taken as a plain string."""
    try:
        return _loads(cell.encode())
    except ValueError:
        return cell


def _read_parquet(
    opener: Callable[[], IO[bytes]],
    display: str,
    builder: BatchBuilder,
    progress: Progress | None,
    input_format: str | None = None,
    context: formats.Context | None = None,
    *,
    path: str | None = None,
    steps: StepTable | None = None,
) -> Iterator[pa.Table]:
    try:
        parquet = pq.ParquetFile(opener())
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"not a readable Parquet file: {_short(exc)}", file=display) from None
    metadata = parquet.schema_arrow.metadata or {}
    marked = metadata.get(STEP_TABLE_MARKER[0]) == STEP_TABLE_MARKER[1]
    # A file on disk, not small, is read by DuckDB (tabular_sql) when it takes it.
    by_duckdb = (
        path is not None
        and steps is not None
        and (input_format in (None, "canonical"))
        and os.path.getsize(path) >= tabular_sql.SMALL_PARQUET_BYTES
    )
    if marked and by_duckdb and tabular_sql.read_parquet(steps, path, builder, step_table=True):
        if progress:
            progress(0)
        return
    if marked:
        # Written by `solidify ingest`: already validated, read it as it is.
        for batch in parquet.iter_batches(batch_size=100_000):
            table = pa.Table.from_batches([batch])
            if progress:
                progress(0)
            yield table.select(STEP_TABLE_SCHEMA.names).cast(STEP_TABLE_SCHEMA)
        return
    names = set(parquet.schema_arrow.names)
    kind = input_format or ("langsmith" if "run_type" in names else None)
    if kind is None and formats.langfuse.is_blob_columns(names):
        kind = "langfuse"  # Langfuse's blob export of the observations table
    if kind == "langfuse" and _export_by_duckdb(path, steps, builder, display, kind):
        if progress:
            progress(0)
        return
    if kind == "langsmith" and _export_by_duckdb(path, steps, builder, display, kind):
        if progress:
            progress(0)
        return
    if kind and kind != "canonical":
        # Timestamps as ISO text and maps as dicts, as the JSON readers see them.
        rows = [
            formats.common.plain_row(r)
            for batch in parquet.iter_batches(batch_size=50_000)
            for r in batch.to_pylist()
        ]
        records = formats.to_records(kind, rows, _default_workflow(display),
                                     context or formats.Context())  # fmt: skip
        yield from builder.batches(enumerate(_mapped(records, kind, display), 1))
        return
    if not names & {"workflow", "run_id", "step"}:
        raise InputError("Parquet columns name none of workflow, run_id, step", file=display)
    _require_columns(names, display, "Parquet")
    if by_duckdb and tabular_sql.read_parquet(steps, path, builder):
        if progress:
            progress(0)
        return
    row = 0

    def rows() -> Iterator[tuple[int, Any]]:
        nonlocal row
        for batch in parquet.iter_batches(batch_size=50_000):
            for record in batch.to_pylist():
                row += 1
                yield row, parquet_record(record)

    yield from builder.batches(rows())


def _export_by_duckdb(
    path: str | None, steps: StepTable | None, builder: BatchBuilder, display: str, kind: str
) -> bool:
    """A Langfuse or LangSmith export on disk, not small, read by DuckDB (exports_sql,
    langsmith_sql); False when the Python reader is to read it."""
    if path is None or steps is None or os.path.getsize(path) < exports_sql.SMALL_EXPORT_BYTES:
        return False
    read = exports_sql.read_langfuse if kind == "langfuse" else langsmith_sql.read_langsmith
    return read(steps, path, builder, _default_workflow(display))


def parquet_record(record: dict[str, Any]) -> dict[str, Any]:
    """A Parquet row as a canonical record: JSON text cells parsed, timestamps as text."""
    for key in ("input", "output"):
        if isinstance(record.get(key), str):
            record[key] = _json_cell(record[key])
    for key in ("started_at", "ended_at"):
        value = record.get(key)
        if hasattr(value, "isoformat"):
            record[key] = value.isoformat()
    return record


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text if len(text) <= 80 else text[:77] + "..."


def to_frame(table: pa.Table) -> pd.DataFrame:
    """The step table as pandas: categories for the grouping keys, nullable integers."""
    import pandas as pd

    table = in_memory(table).unify_dictionaries()
    frame = table.to_pandas(
        types_mapper={
            pa.int64(): pd.Int64Dtype(),
            pa.string(): pd.StringDtype(),
        }.get,
        # Threads cost more than they save on these few columns.
        split_blocks=True,
        use_threads=False,
    )
    frame["rollup"] = frame["rollup"].fillna(False).astype(bool)
    return frame


@contextlib.contextmanager
def engine_of(table: Any) -> Iterator[Any]:
    """The engine to ask: the one given, or a DuckDB step table (closed after) holding
    rows given as pandas or Arrow in STEP_TABLE_SCHEMA."""
    import pandas as pd

    if isinstance(table, pd.DataFrame):
        table = from_frame(table)
    if isinstance(table, pa.Table):
        with StepTable.of([table]) as engine:
            yield engine
    else:
        yield table


def from_frame(frame: pd.DataFrame) -> pa.Table:
    data = frame.copy()
    for name in CATEGORY_COLUMNS:
        data[name] = data[name].astype(object).where(data[name].notna(), None)
    return (
        pa.Table.from_pandas(data, preserve_index=False)
        .select(STEP_TABLE_SCHEMA.names)
        .cast(STEP_TABLE_SCHEMA)
    )


def write_step_table(frame: pd.DataFrame, path: str, *, force: bool = False) -> None:
    """Write the step table as Parquet, atomically; refuse to overwrite without force."""
    from solidify.io import atomic_write

    table = from_frame(frame)

    def write(handle: IO[bytes]) -> None:
        pq.write_table(table, handle, compression="zstd")

    atomic_write(path, write, force=force, binary=True)


def file_size(name: str) -> int:
    return 0 if name == STDIN else os.path.getsize(name)
