"""`migrate --llm`: ask Claude to write the steps synthesis left as stubs.

The model gets training examples and must answer through a forced tool call with
the source of `def solve(data)`. The code is checked statically (standard library
only, no I/O or dynamic execution), then run on held-out examples in an isolated
subprocess with a time limit, and accepted only at the same coverage threshold as
synthesis. A failed check is sent back with counterexamples, a bounded number of times.
"""

from __future__ import annotations

import ast
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from solidify.assess.pricing import model_rates
from solidify.errors import LLMError
from solidify.migrate.package import Plan, StepCode
from solidify.migrate.verify import run_module

ALLOWED_IMPORTS = frozenset({
    "re", "json", "math", "datetime", "decimal", "string", "itertools", "collections",
    "unicodedata", "functools", "operator", "statistics", "fractions", "typing",
})  # fmt: skip
FORBIDDEN_NAMES = frozenset({
    "eval", "exec", "compile", "open", "__import__", "globals", "locals", "vars", "input",
    "breakpoint", "getattr", "setattr", "delattr", "memoryview", "exit", "quit", "help",
})  # fmt: skip
PROMPT_EXAMPLES = 30
EXAMPLE_CHARS = 600
TOOL = {
    "name": "submit_solution",
    "description": "Submit the Python source of the function that reproduces the step.",
    "input_schema": {
        "type": "object",
        "properties": {
            "code": {
                "type": "string",
                "description": "Python source defining `def solve(data)`, standard library only.",
            },
            "explanation": {"type": "string", "description": "One sentence: how it works."},
        },
        "required": ["code"],
    },
}
SYSTEM = (
    "You turn a workflow step that used to be done by a language model into a small, "
    "deterministic Python function. You are given logged examples of the step's input and "
    "output. Write `def solve(data)` that takes the input exactly as shown (parsed JSON) and "
    "returns the output exactly as shown. Use only the Python standard library (re, json, "
    "math, datetime, decimal, string, itertools, collections, unicodedata, functools). No "
    "I/O, no network, no randomness, no eval or exec. Prefer general rules to memorised "
    "answers: the function is checked on examples you have not seen."
)


@dataclass
class LLMSettings:
    model: str = "claude-sonnet-5-5"
    base_url: str | None = None
    attempts: int = 3
    min_coverage: float = 0.95
    api_key: str | None = None
    timeout: float = 60.0
    max_retries: int = 2  # the SDK's own retries on 429, 529 and connection errors
    check_timeout: float = 30.0
    max_tokens: int = 4096


@dataclass
class LLMReport:
    accepted: list[str] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)
    input_tokens: int = 0
    output_tokens: int = 0
    model: str = ""

    @property
    def cost_usd(self) -> float | None:
        rates = model_rates(self.model)
        if rates is None:
            return None
        return self.input_tokens * rates.input + self.output_tokens * rates.output

    def summary(self) -> str:
        cost = self.cost_usd
        money = f"${cost:.4f}" if cost is not None else "unknown cost"
        return (
            f"--llm: {len(self.accepted)} step(s) written by {self.model}, "
            f"{len(self.rejected)} left as stubs; {self.input_tokens} input and "
            f"{self.output_tokens} output tokens ({money})"
        )


def check_source(code: str) -> str | None:
    """Why the code cannot be accepted, or None. Static checks only; running comes later."""
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        return f"does not parse: {exc.msg} (line {exc.lineno})"
    defines_solve = False
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "solve":
            defines_solve = True
    if not defines_solve:
        return "does not define `def solve(data)` at the top level"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] not in ALLOWED_IMPORTS:
                    return f"imports {alias.name}, which is not allowed"
        elif isinstance(node, ast.ImportFrom):
            if node.level or (node.module or "").split(".")[0] not in ALLOWED_IMPORTS:
                return f"imports from {node.module}, which is not allowed"
        elif isinstance(node, ast.Name) and node.id in FORBIDDEN_NAMES:
            return f"uses {node.id}, which is not allowed"
        elif isinstance(node, ast.Attribute) and node.attr.startswith("__"):
            return f"uses the special attribute {node.attr}"
        elif isinstance(node, (ast.Global, ast.Nonlocal, ast.AsyncFunctionDef, ast.Await)):
            return f"uses {type(node).__name__.lower()}, which is not allowed"
    return None


def _client(settings: LLMSettings):
    key = settings.api_key or os.environ.get("ANTHROPIC_API_KEY")
    if not key:
        raise LLMError("--llm needs an API key: set ANTHROPIC_API_KEY")
    import anthropic

    return anthropic.Anthropic(
        api_key=key,
        base_url=settings.base_url,
        timeout=settings.timeout,
        max_retries=settings.max_retries,
    )


def _clip(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= EXAMPLE_CHARS else text[: EXAMPLE_CHARS - 1] + "…"


def _prompt(code: StepCode, workflow: str) -> str:
    lines = [
        f"Workflow: {json.dumps(workflow, ensure_ascii=False)}",
        f"Step: {json.dumps(code.step.step, ensure_ascii=False)}",
        "",
        'Logged examples, one per line as {"input": ..., "output": ...}:',
    ]
    for x, y in code.train[:PROMPT_EXAMPLES]:
        lines.append('{"input": ' + _clip(x) + ', "output": ' + _clip(y) + "}")
    lines += ["", "Call submit_solution with the code of `def solve(data)`."]
    return "\n".join(lines)


def _ask(client, settings: LLMSettings, messages: list[dict[str, Any]], report: LLMReport):
    import anthropic

    try:
        response = client.messages.create(
            model=settings.model,
            max_tokens=settings.max_tokens,
            system=SYSTEM,
            messages=messages,
            tools=[TOOL],
            tool_choice={"type": "tool", "name": TOOL["name"]},
        )
    except anthropic.AuthenticationError:
        raise LLMError("the model API refused the key in ANTHROPIC_API_KEY") from None
    except anthropic.RateLimitError:
        raise LLMError(
            "the model API is rate limiting these requests (429) and retries did not help: "
            "try again later"
        ) from None
    except anthropic.OverloadedError:
        raise LLMError("the model API is overloaded (529): try again later") from None
    except anthropic.APITimeoutError:
        raise LLMError(f"the model API did not answer within {settings.timeout:.0f} s") from None
    except anthropic.APIConnectionError:
        where = settings.base_url or "the default address"
        raise LLMError(f"cannot reach the model API at {where}") from None
    except anthropic.APIStatusError as exc:
        raise LLMError(f"the model API answered {exc.status_code}: {_message(exc)}") from None
    usage = getattr(response, "usage", None)
    if usage is not None:
        report.input_tokens += int(getattr(usage, "input_tokens", 0) or 0)
        report.output_tokens += int(getattr(usage, "output_tokens", 0) or 0)
    return response


def _message(exc: Exception) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return error["message"][:200]
    return str(exc)[:200]


def _tool_code(response) -> tuple[str | None, str | None, str]:
    """(tool_use id, code, problem) from a response."""
    for block in getattr(response, "content", None) or []:
        is_tool = getattr(block, "type", None) == "tool_use"
        if is_tool and getattr(block, "name", "") == TOOL["name"]:
            payload = getattr(block, "input", None)
            code = payload.get("code") if isinstance(payload, dict) else None
            if isinstance(code, str) and code.strip():
                return block.id, code, ""
            return block.id, None, "the submit_solution call had no `code` string"
    return None, None, "the answer was not a submit_solution tool call"


def held_out_coverage(
    code: str, examples: list[tuple[Any, Any]], timeout: float
) -> tuple[float, list[dict]]:
    """Share of held-out examples the code reproduces, run in an isolated subprocess."""
    if not examples:
        return 0.0, []
    with tempfile.TemporaryDirectory(prefix="solidify-llm-") as folder:
        module = Path(folder) / "candidate.py"
        module.write_text(code + "\n\nSTEPS = {'step': solve}\n", encoding="utf-8")
        cases = {"step": [{"input": x, "output": y} for x, y in examples]}
        report = run_module(module, cases, timeout)
    if report.get("error"):
        return 0.0, [{"error": report["error"]}]
    result = report["steps"].get("step")
    if not result or result["stub"]:
        return 0.0, []
    return result["agreed"] / max(result["cases"], 1), result["mismatches"]


def _feedback(coverage: float, mismatches: list[dict]) -> str:
    lines = [f"That function reproduces {coverage:.0%} of held-out examples; it needs more."]
    for m in mismatches[:3]:
        if "error" in m and "input" not in m:
            lines.append(f"It failed to run: {m['error']}")
            continue
        got = m.get("error") or _clip(m.get("got"))
        lines.append(f"input {_clip(m['input'])} -> expected {_clip(m['expected'])}, got {got}")
    lines.append("Fix it and call submit_solution again.")
    return "\n".join(lines)


def write_one(
    client, code: StepCode, workflow: str, settings: LLMSettings, report: LLMReport
) -> str:
    """Try to get accepted code for one stub; returns why not, or "" when accepted."""
    messages: list[dict[str, Any]] = [{"role": "user", "content": _prompt(code, workflow)}]
    problem = "no attempt"
    for _ in range(settings.attempts):
        coverage, mismatches = 0.0, []
        response = _ask(client, settings, messages, report)
        tool_id, source, problem = _tool_code(response)
        if source is not None:
            problem = check_source(source) or ""
            if problem:
                problem = f"the code {problem}"
            else:
                coverage, mismatches = held_out_coverage(
                    source, code.examples, settings.check_timeout
                )
                if coverage >= settings.min_coverage:
                    code.llm_code = source
                    code.llm_note = (
                        f"{settings.model} wrote it; it reproduces {coverage:.1%} of "
                        f"{len(code.examples)} held-out examples."
                    )
                    return ""
                problem = f"reproduces {coverage:.0%} of held-out examples"
        content = getattr(response, "content", None) or []
        messages.append({"role": "assistant", "content": [_plain(b) for b in content]})
        reply = (
            _feedback(coverage, mismatches)
            if source is not None and not problem.startswith("the code")
            else f"That cannot be accepted: {problem}. Call submit_solution with valid code."
        )
        if tool_id is not None:
            messages.append({"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": tool_id, "content": reply, "is_error": True}
            ]})  # fmt: skip
        else:
            messages.append({"role": "user", "content": reply})
    return problem


def _plain(block: Any) -> dict[str, Any]:
    if hasattr(block, "model_dump"):
        return block.model_dump(exclude_none=True)
    return dict(block)


def write_stubs(
    the_plan: Plan, settings: LLMSettings, *, log: Callable[[str], None] = lambda m: None
) -> LLMReport:
    """Ask the model for every stub of the plan. Raises LLMError when the API cannot be used,
    before anything is written."""
    report = LLMReport(model=settings.model)
    stubs = [(w, c) for w, codes in the_plan.steps.items() for c in codes if not c.solved]
    if not stubs:
        return report
    client = _client(settings)
    for workflow, code in stubs:
        log(f"--llm: asking {settings.model} for {workflow}/{code.step.step}")
        why = write_one(client, code, workflow, settings, report)
        if why:
            report.rejected[f"{workflow}/{code.step.step}"] = why
            log(f"--llm: {workflow}/{code.step.step} stays a stub: {why}")
        else:
            report.accepted.append(f"{workflow}/{code.step.step}")
    return report
