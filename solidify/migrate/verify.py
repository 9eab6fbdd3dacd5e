"""Replay logged examples through a generated package's STEPS, in a subprocess.

The code under test may have been edited by hand or written by a model, so it runs
in a separate, isolated interpreter (`python -I`) with a time limit, never in ours.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from solidify.assess.sampling import StepSample
from solidify.assess.synthesis import equality
from solidify.assess.synthesis.engine import split
from solidify.errors import InputError
from solidify.migrate.literals import snake_case

CASES_PER_STEP = 1000
TIMEOUT = 120.0

# Runs in the child interpreter: standard library only, reads cases, prints results as JSON.
# Output equality is the one definition (synthesis/equality.py), pasted in.
RUNNER = (
    r"""
import copy, importlib.util, json, sys, traceback
from typing import Any

"""
    + equality.source()
    + r"""

path, cases_path = sys.argv[1], sys.argv[2]
results = {"steps": {}, "error": None}
try:
    spec = importlib.util.spec_from_file_location("solidify_verify_target", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    steps = module.STEPS
    routed = getattr(module, "ROUTED", frozenset())
except BaseException as exc:
    results["error"] = "cannot import: " + "".join(
        traceback.format_exception_only(type(exc), exc)).strip()
    print(json.dumps(results))
    sys.exit(0)
with open(cases_path, encoding="utf-8") as handle:
    cases = json.load(handle)
for step, items in cases.items():
    if step not in steps:
        continue
    out = {"cases": len(items), "agreed": 0, "errors": 0, "stub": False, "mismatches": [],
           "handed_back": 0}
    for item in items:
        try:
            got = steps[step](copy.deepcopy(item["input"]))
        except NotImplementedError:
            out["stub"] = True
            break
        except LookupError:
            if step in routed:  # a routed step leaves this input to the model
                out["handed_back"] += 1
                continue
            out["errors"] += 1
            continue
        except Exception as exc:
            out["errors"] += 1
            if len(out["mismatches"]) < 3:
                out["mismatches"].append({"input": item["input"], "expected": item["output"],
                                          "error": type(exc).__name__ + ": " + str(exc)[:200]})
            continue
        if same_output(got, item["output"]):
            out["agreed"] += 1
        elif len(out["mismatches"]) < 3:
            out["mismatches"].append({"input": item["input"], "expected": item["output"],
                                      "got": got})
    results["steps"][step] = out
print(json.dumps(results, default=repr))
"""
)


@dataclass
class StepCheck:
    workflow: str
    step: str
    cases: int
    agreed: int
    errors: int
    stub: bool
    mismatches: list[dict[str, Any]] = field(default_factory=list)
    handed_back: int = 0  # inputs a routed step left to the model

    @property
    def agreement(self) -> float:
        """Share of the cases the code answers that it answers as logged."""
        answered = self.cases - self.handed_back
        return self.agreed / answered if answered else 0.0


@dataclass
class Verification:
    checks: list[StepCheck]
    problems: list[str]

    def below(self, minimum: float) -> list[StepCheck]:
        return [c for c in self.checks if not c.stub and c.agreement < minimum]

    def to_dict(self) -> dict[str, Any]:
        return {
            "steps": [
                {
                    "workflow": c.workflow, "step": c.step, "cases": c.cases,
                    "agreed": c.agreed, "agreement": round(c.agreement, 4),
                    "errors": c.errors, "stub": c.stub, "mismatches": c.mismatches,
                    "handed_back": c.handed_back,
                }
                for c in self.checks
            ],
            "problems": self.problems,
        }  # fmt: skip


def run_module(path: Path, cases: dict[str, list[dict[str, Any]]], timeout: float) -> dict:
    """Replay cases through the module at `path` in an isolated interpreter."""
    with tempfile.TemporaryDirectory(prefix="solidify-verify-") as folder:
        cases_path = Path(folder) / "cases.json"
        cases_path.write_text(json.dumps(cases, ensure_ascii=False), encoding="utf-8")
        try:
            done = subprocess.run(
                [sys.executable, "-I", "-c", RUNNER, str(path.resolve()), str(cases_path)],
                capture_output=True, text=True, timeout=timeout, cwd=folder, check=False,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            return {"steps": {}, "error": f"timed out after {timeout:.0f} s"}
    if done.returncode != 0 or not done.stdout.strip():
        tail = (done.stderr or "").strip().splitlines()[-1:] or ["no output"]
        return {"steps": {}, "error": f"crashed (exit {done.returncode}): {tail[0]}"}
    try:
        return json.loads(done.stdout.strip().splitlines()[-1])
    except json.JSONDecodeError:
        return {"steps": {}, "error": "printed something that is not the runner's report"}


def verify(
    package: str | Path,
    samples: Mapping[tuple[str, str], StepSample],
    *,
    timeout: float = TIMEOUT,
) -> Verification:
    """Replay each step's logged examples (`samples`: sampling.step_samples, at most
    CASES_PER_STEP a step) through the package's module of its workflow."""
    root = Path(package)
    if not root.is_dir():
        raise InputError("not a folder of generated code", file=str(package))
    checks: list[StepCheck] = []
    problems: list[str] = []
    by_workflow: dict[str, dict[str, StepSample]] = {}
    for (workflow, step), sample in sorted(samples.items()):
        if sample.rows:
            by_workflow.setdefault(workflow, {})[step] = sample
    for workflow, steps in by_workflow.items():
        path = root / f"{snake_case(workflow, fallback='workflow')}.py"
        if not path.is_file():
            problems.append(f"{workflow}: no module {path.name} in {root}")
            continue
        cases: dict[str, list[dict[str, Any]]] = {}
        for step, sample in steps.items():
            train, held = split(sample.rows, max_examples=CASES_PER_STEP)
            cases[step] = [
                {"input": orjson.loads(i), "output": orjson.loads(o)} for i, o in train + held
            ]
        report = run_module(path, cases, timeout)
        if report.get("error"):
            problems.append(f"{path}: {report['error']}")
        for step, r in report.get("steps", {}).items():
            checks.append(StepCheck(workflow, step, r["cases"], r["agreed"], r["errors"], r["stub"],
                                    r["mismatches"], r.get("handed_back", 0)))  # fmt: skip
    return Verification(checks, problems)
