"""`migrate --llm` through the real anthropic SDK, against a local mock of the Messages API."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from solidify.cli import cli
from solidify.migrate.llm import check_source
from tests.conftest import record, write_jsonl
from tests.mock_anthropic import MockMessagesAPI, error, text_answer, tool_answer

GOOD = "def solve(data):\n    return data['name'][::-1].upper()\n"
WRONG = "def solve(data):\n    return data['name']\n"


def reverse_log(tmp_path: Path) -> Path:
    """A step no program in the search space reproduces: reverse a name, in capitals."""
    words = [
        "alpha",
        "bravo",
        "charlie",
        "delta",
        "echo",
        "foxtrot",
        "golf",
        "hotel",
        "india",
        "juliet",
        "kilo",
        "lima",
        "mike",
        "november",
        "oscar",
        "papa",
        "quebec",
        "romeo",
    ]
    rows = []
    for i in range(120):
        name = f"{words[i % len(words)]}{i}"
        rows.append(
            record(
                workflow="names",
                run_id=f"r{i}",
                step="reverse_name",
                model="claude-haiku-4-5",
                input_tokens=50,
                output_tokens=5,
                input={"name": name},
                output=name[::-1].upper(),
            )
        )
    return write_jsonl(tmp_path / "names.jsonl", rows)


def migrate(runner, log: Path, out: Path, api: MockMessagesAPI, *extra: str, key: str = "k"):
    env = {"ANTHROPIC_API_KEY": key} if key else {"ANTHROPIC_API_KEY": ""}
    return runner.invoke(
        cli,
        ["migrate", str(log), "--out", str(out), "--step", "reverse_name", "--llm",
         "--base-url", api.url, *extra],
        env=env,
    )  # fmt: skip


@pytest.mark.slow
def test_accepted_code_lands_in_the_package_and_its_tests_pass(tmp_path, runner) -> None:
    log, out = reverse_log(tmp_path), tmp_path / "out"
    with MockMessagesAPI() as api:
        api.answers.append(tool_answer(GOOD))
        result = migrate(runner, log, out, api)
    assert result.exit_code == 0, result.stderr
    assert "1 step(s) written by claude-sonnet-5-5" in result.stderr
    assert "900 input and 120 output tokens" in result.stderr
    sent = api.requests[0]["body"]
    assert sent["tool_choice"] == {"type": "tool", "name": "submit_solution"}
    assert sent["model"] == "claude-sonnet-5-5"
    assert api.requests[0]["key"] == "k"
    assert "reverse_name" in sent["messages"][0]["content"]
    source = (out / "names.py").read_text()
    assert "[::-1].upper()" in source and "raise NotImplementedError" not in source
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=out,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:]
    assert "skipped" not in done.stdout


@pytest.mark.slow  # end to end with the mock server
def test_wrong_code_is_retried_with_counterexamples_then_accepted(tmp_path, runner) -> None:
    log, out = reverse_log(tmp_path), tmp_path / "out"
    with MockMessagesAPI() as api:
        api.answers.extend([tool_answer(WRONG), tool_answer(GOOD)])
        result = migrate(runner, log, out, api)
    assert result.exit_code == 0, result.stderr
    assert len(api.requests) == 2
    feedback = api.requests[1]["body"]["messages"][-1]["content"][0]
    assert feedback["type"] == "tool_result" and "expected" in feedback["content"]
    assert "[::-1]" in (out / "names.py").read_text()


@pytest.mark.slow
def test_code_that_never_passes_stays_a_stub(tmp_path, runner) -> None:
    log, out = reverse_log(tmp_path), tmp_path / "out"
    with MockMessagesAPI() as api:
        api.answers.extend([tool_answer(WRONG)] * 2)
        result = migrate(runner, log, out, api, "--llm-attempts", "2")
    assert result.exit_code == 0, result.stderr
    assert "stays a stub" in result.stderr and "0 step(s) written" in result.stderr
    assert "raise NotImplementedError" in (out / "names.py").read_text()


@pytest.mark.slow  # end to end; CI runs the slow tests
@pytest.mark.parametrize(
    "answer",
    [
        text_answer("I would reverse the string."),  # no tool call at all
        tool_answer(None),  # a tool call without code
        tool_answer("def solve(data) return 1"),  # code that does not parse
        tool_answer("import os\ndef solve(data):\n    return os.getcwd()\n"),  # not allowed
        tool_answer("def solve(data):\n    return eval(data['name'])\n"),
    ],
)
def test_malformed_or_unsafe_answers_are_refused(tmp_path, runner, answer) -> None:
    log, out = reverse_log(tmp_path), tmp_path / "out"
    with MockMessagesAPI() as api:
        api.answers.append(answer)
        result = migrate(runner, log, out, api, "--llm-attempts", "1")
    assert result.exit_code == 0, result.stderr
    assert "stays a stub" in result.stderr
    assert "raise NotImplementedError" in (out / "names.py").read_text()


@pytest.mark.parametrize(
    ("status", "kind", "message"),
    [
        (429, "rate_limit_error", "rate limiting"),
        (529, "overloaded_error", "overloaded (529)"),
        (401, "authentication_error", "refused the key"),
    ],
)
@pytest.mark.slow
def test_api_failures_give_one_line_and_write_nothing(
    tmp_path, runner, status, kind, message
) -> None:
    log, out = reverse_log(tmp_path), tmp_path / "out"
    with MockMessagesAPI() as api:
        api.answers.extend([error(status, kind, "nope")] * 5)
        result = migrate(runner, log, out, api)
    assert result.exit_code == 5
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()[-1]) < 200
    assert not out.exists()
    if status in (429, 529):
        assert len(api.requests) == 3  # the SDK retried twice before giving up


def test_missing_key_is_a_clear_error(tmp_path, runner) -> None:
    log, out = reverse_log(tmp_path), tmp_path / "out"
    with MockMessagesAPI() as api:
        result = migrate(runner, log, out, api, key="")
    assert result.exit_code == 5
    assert "set ANTHROPIC_API_KEY" in result.stderr
    assert not api.requests and not out.exists()


@pytest.mark.slow
def test_unreachable_api(tmp_path, runner) -> None:
    log, out = reverse_log(tmp_path), tmp_path / "out"
    result = runner.invoke(cli, ["migrate", str(log), "--out", str(out), "--step",
                                 "reverse_name", "--llm", "--base-url", "http://127.0.0.1:9"],
                           env={"ANTHROPIC_API_KEY": "k"})  # fmt: skip
    assert result.exit_code == 5
    assert "cannot reach the model API" in result.stderr
    assert not out.exists()


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        ("def solve(data):\n    return open('/etc/passwd').read()\n", "open"),
        ("import subprocess\ndef solve(data):\n    return 1\n", "subprocess"),
        ("def solve(data):\n    return data.__class__\n", "__class__"),
        ("def other(data):\n    return 1\n", "solve"),
        ("from . import x\ndef solve(data):\n    return 1\n", "imports"),
    ],
)
def test_static_checks(code: str, problem: str) -> None:
    assert problem in check_source(code)


def test_static_checks_accept_plain_code() -> None:
    assert (
        check_source("import re\n\ndef solve(data):\n    return re.sub('a', 'b', data)\n") is None
    )
    assert json.loads(json.dumps(GOOD))  # the fixture itself is JSON-safe
