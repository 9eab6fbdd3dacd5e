"""Per-step samples from the engine, and the plan of the program searches that read them.

Synthesis learns from at most `cap` successful executions of a step (MAX_EXAMPLES for
a step that ran on a model, LIGHT_EXAMPLES else: a light search for determinism). Two
queries bring them back for every step at once: one aggregate per step (successes,
whether it ran on AI, whether the log names prompts), then the sampled rows. A step with
at most `cap` successes is taken whole; of a bigger one, `cap` executions are chosen by
a stable hash of their content, so the sample does not depend on the table's row order.
Only these samples and the first failed executions of each step reach Python.

The SQL is DuckDB's dialect, in a form SQLGlot transpiles to Spark.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import msgspec
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from solidify.assess.canonical import canonical_bytes
from solidify.assess.schema import AI_KINDS
from solidify.assess.steptable import Engine
from solidify.assess.synthesis.engine import MAX_EXAMPLES, TIME_LIMIT, Synthesis, sample_indices
from solidify.assess.synthesis.job import Job
from solidify.assess.synthesis.reuse import Kept

LIGHT_EXAMPLES = 300
LIGHT_SECONDS = 0.5
FAILED_SHOWN = 200  # failed executions per step checked against its program
CAPS_TABLE = "solidify_sample_caps"  # the steps sampled by hash, and their caps
MARGIN = 6.0  # standard deviations of keys let through beyond `cap`
ALL = "g"  # above every hex digest: no threshold
TEXTS = ("input", "output", "extra")  # JSON texts, made canonical on their way out

Key = tuple[str, str]

_AI = ", ".join(f"'{kind}'" for kind in AI_KINDS)

# One row per step: how many successes, whether it ever ran on a model, whether its
# records name their prompt (in `extra`, where trace readers keep such fields).
STEP_FACTS = f"""
SELECT workflow, step,
       CAST(sum(CASE WHEN status = 'ok' THEN 1 ELSE 0 END) AS BIGINT) AS successes,
       coalesce(bool_or(kind IN ({_AI})), false) AS ran_on_ai,
       coalesce(bool_or(strpos(extra, '"prompt_') > 0), false) AS names_prompts
FROM {{source}}
GROUP BY workflow, step
"""

# The sampled successful executions (`failed` false) and the first failed ones (true),
# in table order (rowid) within each step. Steps listed in CAPS_TABLE (by a number,
# `sid`) have more successes than their cap: of theirs, the `cap` with the lowest key
# are kept. The key of an execution is the md5 digest of its (input, output) pair, and
# that of the pair's n-th repeat md5(digest, n), so that repeats are sampled like any
# execution and stay repeated, and the sample depends on the contents alone, not on
# their order; of a pair's executions, the first ones are taken. md5 because it exists
# on DuckDB and Spark and gives the same digest on both (their hash() functions differ),
# so both engines choose the same sample. chr(10) never occurs in compact JSON text, so
# the joined text is unambiguous. Repeats are counted by a group-by, cheaper than a
# window, and only keys below the step's `below` (a hex prefix that lets through a few
# more than `cap`) are ranked: ranking is a sort, and a threshold on uniform digests
# cannot change which `cap` are lowest as long as `cap` pass it.
SAMPLED = f"""
WITH keyed AS (
    SELECT c.sid, s.rowid AS rid,
           md5(coalesce(s.input, 'null') || chr(10) || coalesce(s.output, 'null')) AS pair
    FROM {{source}} AS s
    JOIN {CAPS_TABLE} AS c ON s.workflow = c.workflow AND s.step = c.step
    WHERE s.status = 'ok'
),
pairs AS (
    SELECT sid, pair, count(*) AS repeats FROM keyed GROUP BY sid, pair
),
copies AS (
    SELECT sid, pair, 1 AS nth, pair AS key FROM pairs
    UNION ALL
    SELECT sid, pair, nth, md5(pair || chr(10) || CAST(nth AS VARCHAR)) AS key
    FROM (
        SELECT sid, pair, unnest(generate_series(2, repeats)) AS nth
        FROM pairs WHERE repeats > 1
    ) AS repeated
),
ranked AS (
    SELECT k.sid, k.pair, c.cap,
           row_number() OVER (PARTITION BY k.sid ORDER BY k.key, k.nth) AS place
    FROM copies AS k
    JOIN {CAPS_TABLE} AS c ON k.sid = c.sid
    WHERE k.key < c.below
),
taken AS (
    SELECT sid, pair, count(*) AS taken FROM ranked WHERE place <= cap GROUP BY sid, pair
),
chosen AS (
    SELECT rid FROM (
        SELECT k.rid, t.taken,
               row_number() OVER (PARTITION BY k.sid, k.pair ORDER BY k.rid) AS nth
        FROM keyed AS k
        JOIN taken AS t ON k.sid = t.sid AND k.pair = t.pair
    ) AS numbered
    WHERE nth <= taken
),
bad AS (
    SELECT workflow, step, rowid AS rid, coalesce(input, 'null') AS input, error,
           row_number() OVER (PARTITION BY workflow, step ORDER BY rowid) AS place
    FROM {{source}}
    WHERE status IS DISTINCT FROM 'ok'
)
SELECT s.workflow, s.step, false AS failed, s.rowid AS rid,
       coalesce(s.input, 'null') AS input, coalesce(s.output, 'null') AS output,
       {{extra}} AS extra, CAST(NULL AS VARCHAR) AS error
FROM {{source}} AS s
LEFT JOIN {CAPS_TABLE} AS c ON s.workflow = c.workflow AND s.step = c.step
WHERE s.status = 'ok' AND (c.cap IS NULL OR s.rowid IN (SELECT rid FROM chosen))
UNION ALL
SELECT workflow, step, true AS failed, rid, input, CAST(NULL AS VARCHAR) AS output,
       CAST(NULL AS VARCHAR) AS extra, error
FROM bad WHERE place <= {FAILED_SHOWN}
ORDER BY workflow, step, failed, rid
"""


@dataclass(frozen=True)
class StepSample:
    """What a step's search learns from and is checked against."""

    rows: list[tuple[str, str]]  # (input, output) canonical texts, in table order
    prompts: list[str | None] | None  # each row's `extra` when the log names prompts
    failed: tuple[tuple[str, str | None], ...]  # first failed executions: (input, error)
    ran_on_ai: bool
    successes: int  # all successful executions of the step

    @property
    def cap(self) -> int:
        return cap_of(self.ran_on_ai)


def cap_of(ran_on_ai: bool) -> int:
    """How many executions a step's search learns from at most."""
    return MAX_EXAMPLES if ran_on_ai else LIGHT_EXAMPLES


def sample_queries(source: str = "steps", *, prompts: bool = True) -> tuple[str, str]:
    """The two queries, over `source` (the step facts, then the sampled rows)."""
    return (
        STEP_FACTS.format(source=source),
        SAMPLED.format(source=source, extra="s.extra" if prompts else "CAST(NULL AS VARCHAR)"),
    )


def step_samples(engine: Engine, source: str = "steps") -> dict[Key, StepSample]:
    """Every step's sample: its successful executions (all, or `cap` chosen by hash),
    its first failed ones, and the facts its search needs."""
    facts_sql, _ = sample_queries(source)
    facts = engine.query(facts_sql).to_pylist()
    if not facts:
        return {}
    named = any(f["names_prompts"] for f in facts)
    _, sampled_sql = sample_queries(source, prompts=named)
    big = {
        (f["workflow"], f["step"]): (cap_of(f["ran_on_ai"]), f["successes"])
        for f in facts
        if f["successes"] > cap_of(f["ran_on_ai"])
    }
    caps = {key: (cap, threshold(cap, successes)) for key, (cap, successes) in big.items()}
    chosen, bad, columns = _sampled(engine, sampled_sql, caps)
    short = {key for key, (cap, _) in big.items() if len(chosen.get(key, ())) < cap}
    if short:
        # Fewer than `cap` keys fell below the threshold (about one chance in 10**9
        # per step): those steps are ranked whole.
        caps.update({key: (caps[key][0], ALL) for key in short})
        chosen, bad, columns = _sampled(engine, sampled_sql, caps)
    inputs, outputs, extras = columns["input"], columns["output"], columns["extra"]
    errors = columns["error"]
    out: dict[Key, StepSample] = {}
    for fact in facts:
        key = (fact["workflow"], fact["step"])
        good = chosen.get(key, [])
        out[key] = StepSample(
            rows=[(inputs[i], outputs[i]) for i in good],
            prompts=[extras[i] for i in good] if named else None,
            failed=tuple((inputs[i], errors[i]) for i in bad.get(key, [])),
            ran_on_ai=bool(fact["ran_on_ai"]),
            successes=int(fact["successes"]),
        )
    return out


def threshold(cap: int, successes: int) -> str:
    """A hex prefix below which about `cap` plus MARGIN standard deviations of a step's
    `successes` uniform md5 keys fall (so that fewer than `cap` do almost never)."""
    prefix = math.ceil((cap + MARGIN * math.sqrt(cap) + 16) / successes * 16**8)
    return ALL if prefix >= 16**8 else f"{max(prefix, 0):08x}"


def _sampled(
    engine: Engine, sql: str, caps: Mapping[Key, tuple[int, str]]
) -> tuple[dict[Key, list[int]], dict[Key, list[int]], dict[str, list]]:
    """The sampled rows, and their positions per step: (successes, failures, columns).
    `caps`: the steps sampled by hash, with their cap and key threshold."""
    engine.register(
        CAPS_TABLE,
        pa.table(
            {
                "workflow": pa.array([w for w, _ in caps], pa.string()),
                "step": pa.array([s for _, s in caps], pa.string()),
                "sid": pa.array(range(len(caps)), pa.int64()),
                "cap": pa.array([cap for cap, _ in caps.values()], pa.int64()),
                "below": pa.array([below for _, below in caps.values()], pa.string()),
            }
        ),
    )
    rows = engine.query(sql)
    columns = {
        name: (_canonical if name in TEXTS else pa.ChunkedArray.to_pylist)(rows.column(name))
        for name in rows.column_names
    }
    chosen: dict[Key, list[int]] = {}
    bad: dict[Key, list[int]] = {}
    for at, (workflow, step, failed) in enumerate(
        zip(columns["workflow"], columns["step"], columns["failed"], strict=True)
    ):
        (bad if failed else chosen).setdefault((workflow, step), []).append(at)
    return chosen, bad, columns


def _canonical(texts: pa.ChunkedArray) -> list[str | None]:
    """JSON texts in the canonical form (keys sorted: the engine keeps the logged
    order), each distinct text converted once; missing ones stay None."""
    encoded = pc.dictionary_encode(texts).combine_chunks()
    decode = msgspec.json.Decoder().decode
    distinct = [canonical_bytes(decode(t)).decode() for t in encoded.dictionary.to_pylist()]
    return pc.take(pa.array(distinct, pa.string()), encoded.indices).to_pylist()


def _hashes(texts: Iterable[str]) -> np.ndarray:
    """The 64-bit hashes sample_indices ranks by (synthesis.engine.text_hashes' too)."""
    return pd.util.hash_array(np.asarray(list(texts), dtype=object), categorize=False)


@dataclass(frozen=True)
class SearchPlan:
    """Which executions each step's search learns from; each job is built by whichever
    process runs it (solidify.assess.searches), from the samples the plan holds."""

    samples: dict[Key, StepSample]
    keys: list[Key]  # steps with successful executions, largest first
    known: Mapping[Key, tuple[Kept, ...]] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        engine: Engine,
        source: str = "steps",
        known: Mapping[Key, tuple[Kept, ...]] | None = None,
    ) -> SearchPlan:
        samples = step_samples(engine, source)
        keys = sorted(
            (key for key, sample in samples.items() if sample.successes),
            key=lambda k: (-min(samples[k].successes, MAX_EXAMPLES), k),
        )
        return cls(samples, keys, known or {})

    def job(self, key: Key) -> Job:
        """The step's sample, split for fitting and measuring."""
        sample = self.samples[key]
        # Steps that never ran on a model only need determinism evidence: a light search.
        train, held = sample_indices(
            _hashes(i for i, _ in sample.rows),
            _hashes(o for _, o in sample.rows),
            max_examples=sample.cap,
        )

        def texts(chosen: np.ndarray) -> list[tuple[str, str]]:
            return [sample.rows[i] for i in chosen]

        # The trace's own prompt names, versions and variables, where it logged them.
        prompts = None if sample.prompts is None else [sample.prompts[i] for i in train]
        ai = sample.ran_on_ai
        return Job(texts(train), texts(held), TIME_LIMIT if ai else LIGHT_SECONDS, prompts,
                   sample.failed, routes=ai, known=self.known.get(key, ()))  # fmt: skip

    def search(self, key: Key) -> Synthesis:
        return self.job(key).run()
