"""Tool relays: AI steps that only pass a tool's answer through.

An AI step (kind `llm` or `agent`) is a relay of tools when, of its successful
executions with an input (at least RELAY_MIN), a share of at least RELAY_SHARE gave
exactly the output that a tool step gave for exactly the same input in the same run of
the same workflow (an agent fetching through its tools). Texts are compared by their
text in the engine; a missing output matches only a missing output. The tools are
named most frequent first, the first met (in the order rows were added) among equally
frequent ones.
"""

from __future__ import annotations

from solidify.assess.steptable import Engine

RELAY_SHARE = 0.9
RELAY_MIN = 5

# Per AI step and the tool that gave each of its outputs first (NULL: none did): how
# many executions, and the first of them (`rowid`).
RELAYS = """
WITH
done AS (
    SELECT rowid AS rid, workflow, run_id, step, kind, input, output
    FROM {source}
    WHERE status = 'ok' AND input IS NOT NULL AND kind IN ('tool', 'llm', 'agent')
),
tool_calls AS (
    SELECT workflow, run_id, input, output, arg_min(step, rid) AS tool
    FROM done
    WHERE kind = 'tool'
    GROUP BY workflow, run_id, input, output
),
relayed AS (
    SELECT a.workflow, a.step, a.rid, t.tool
    FROM done AS a
    LEFT JOIN tool_calls AS t
      ON a.workflow = t.workflow AND a.run_id = t.run_id AND a.input = t.input
     AND a.output IS NOT DISTINCT FROM t.output
    WHERE a.kind IN ('llm', 'agent')
)
SELECT workflow, step, tool, count(*) AS n, min(rid) AS first_row
FROM relayed
GROUP BY workflow, step, tool
"""


def relays_sql(source: str = "steps") -> str:
    return RELAYS.format(source=source)


def tool_relays(engine: Engine, source: str = "steps") -> dict[tuple[str, str], str]:
    """Per AI step that relays tools: the tools' names, joined by ", "."""
    executions: dict[tuple[str, str], int] = {}
    tools: dict[tuple[str, str], list[tuple[int, int, str]]] = {}
    for row in engine.query(relays_sql(source)).to_pylist():
        key = (row["workflow"], row["step"])
        executions[key] = executions.get(key, 0) + int(row["n"])
        if row["tool"] is not None:
            tools.setdefault(key, []).append((-int(row["n"]), int(row["first_row"]), row["tool"]))
    out: dict[tuple[str, str], str] = {}
    for key, found in tools.items():
        relayed = -sum(n for n, _, _ in found)
        if executions[key] >= RELAY_MIN and relayed >= RELAY_SHARE * executions[key]:
            out[key] = ", ".join(tool for _, _, tool in sorted(found))
    return out
