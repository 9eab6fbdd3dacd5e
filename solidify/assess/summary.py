"""Per-workflow, per-step counts: executions, runs, errors, tokens."""

from __future__ import annotations

from typing import Any

import pandas as pd


def summarise(table: pd.DataFrame) -> dict[str, Any]:
    workflows = []
    for name, wf in table.groupby("workflow", observed=True, sort=True):
        steps = []
        for step, rows in wf.groupby("step", observed=True, sort=False):
            steps.append(
                {
                    "step": str(step),
                    "kind": str(rows["kind"].mode().iloc[0]),
                    "executions": len(rows),
                    "runs": int(rows["run_id"].nunique()),
                    "errors": int((rows["status"] != "ok").sum()),
                    "input_tokens": int(rows["input_tokens"].sum()),
                    "output_tokens": int(rows["output_tokens"].sum()),
                }
            )
        workflows.append(
            {
                "workflow": str(name),
                "runs": int(wf["run_id"].nunique()),
                "executions": len(wf),
                "steps": steps,
            }
        )
    return {"workflows": workflows}
