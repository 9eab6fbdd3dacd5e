"""What the whole log says about each workflow: runs, executions, period, orchestration.

One query over the step table (any `Engine`); one typed record per workflow. The
period's span is worked out in Python from the first and last timestamps, so that
it is the same number whatever the engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from solidify.assess.steptable import Engine

# A record from an orchestrator running a declared definition says so in `extra`
# (compact JSON text, so the key is followed directly by its colon).
ORCHESTRATOR_MARK = '%"orchestrator":%'

WORKFLOW_FACTS = """
SELECT workflow,
       count(DISTINCT run_id) AS runs,
       count(*) AS executions,
       sum(CASE WHEN kind IN ('llm', 'agent') THEN 1 ELSE 0 END) AS ai_executions,
       min(started_at) AS first_started,
       max(started_at) AS last_started,
       max(CASE WHEN extra LIKE '{mark}' THEN 1 ELSE 0 END) AS orchestrated
FROM {source}
GROUP BY workflow
ORDER BY workflow
"""


@dataclass(frozen=True)
class WorkflowFacts:
    """Counts and period of one workflow over the whole log."""

    workflow: str
    runs: int
    executions: int
    ai_executions: int
    start: str | None  # first timestamp, isoformat (None without timestamps)
    end: str | None
    days: float | None  # span from first to last timestamp, in days
    orchestrated: bool  # its records come from an orchestrator running a definition

    @property
    def period(self) -> dict[str, Any]:
        """The `period` of the assessment's output."""
        return {
            "start": self.start,
            "end": self.end,
            "days": None if self.days is None else round(self.days, 2),
        }

    @property
    def scale_days(self) -> float | None:
        """The days savings are scaled over: at least one."""
        return None if self.days is None else max(self.days, 1.0)

    @property
    def runs_per_month(self) -> float | None:
        days = self.scale_days
        return self.runs / days * 30 if days else None

    @property
    def ai_execution_share(self) -> float:
        return self.ai_executions / self.executions if self.executions else 0.0


def workflow_facts_sql(source: str = "steps") -> str:
    return WORKFLOW_FACTS.format(source=source, mark=ORCHESTRATOR_MARK)


def workflow_facts(engine: Engine, source: str = "steps") -> dict[str, WorkflowFacts]:
    """Per workflow of `source`, in name order: runs, executions, period, orchestration."""
    out: dict[str, WorkflowFacts] = {}
    for row in engine.query(workflow_facts_sql(source)).to_pylist():
        first, last = row["first_started"], row["last_started"]
        out[row["workflow"]] = WorkflowFacts(
            workflow=row["workflow"],
            runs=int(row["runs"]),
            executions=int(row["executions"]),
            ai_executions=int(row["ai_executions"] or 0),
            start=_iso(first),
            end=_iso(last),
            days=None if first is None else (last - first).total_seconds() / 86400,
            orchestrated=bool(row["orchestrated"]),
        )
    return out


def orchestrated(engine: Engine, source: str = "steps") -> set[str]:
    """Workflows whose logs come from an orchestrator running a declared definition."""
    sql = ORCHESTRATED.format(source=source, mark=ORCHESTRATOR_MARK)
    return {row["workflow"] for row in engine.query(sql).to_pylist()}


ORCHESTRATED = """
SELECT DISTINCT workflow FROM {source} WHERE extra LIKE '{mark}'
"""


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()
