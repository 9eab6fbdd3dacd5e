"""The generated package: correct on the samples, safe on hostile logs, careful with files."""

from __future__ import annotations

import ast
import json
import keyword
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from solidify.cli import cli
from solidify.migrate.literals import docstring, fstring_text, literal, snake_case, string
from tests.conftest import SAMPLES, record, write_jsonl


def run_pytest(folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=folder, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def load_steps(path: Path) -> dict:
    """Import a generated module in a fresh interpreter and list its STEPS."""
    code = (
        "import importlib.util, json, sys\n"
        "spec = importlib.util.spec_from_file_location('m', sys.argv[1])\n"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        "print(json.dumps(sorted(m.STEPS)))\n"
    )
    done = subprocess.run([sys.executable, "-I", "-c", code, str(path)], capture_output=True,
                          text=True, timeout=60, check=True)  # fmt: skip
    return json.loads(done.stdout)


# ---------------------------------------------------------------- literals


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.text())
def test_string_literals_round_trip_any_text(text: str) -> None:
    source = string(text)
    assert ast.literal_eval(source) == text
    assert "\u202e" not in source and "\n" not in source


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.text())
def test_fstring_text_round_trips(text: str) -> None:
    tree = ast.parse('f"' + fstring_text(text) + '"', mode="eval")
    assert eval(compile(tree, "<test>", "eval"), {"__builtins__": {}}) == text


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
))  # fmt: skip
def test_literals_round_trip_json_values(value) -> None:
    assert ast.literal_eval(literal(value)) == value


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.text())
def test_docstrings_parse_and_keep_every_word(text: str) -> None:
    source = "def f():\n" + docstring(text) + "\n    return 1\n"
    tree = ast.parse(source)
    doc = ast.get_docstring(tree.body[0], clean=False) or ""
    for word in text.split():
        if word.isprintable():
            assert word in doc.replace("    ", "\t").replace("\t", "    ") or word in doc


@pytest.mark.parametrize(
    ("name", "expected"),
    [("release-cleanup", "release_cleanup"), ("class", "class_"), ("123go", "step_123go"),
     ("ExtractIDs", "extract_ids"), ("", "step"), ("ünïcödé name", "unicode_name"),
     ("a\"; import os #", "a_import_os"), ("None", "none")],
)  # fmt: skip
def test_names_are_sanitised(name: str, expected: str) -> None:
    result = snake_case(name)
    assert result == expected
    assert result.isidentifier() and not keyword.iskeyword(result)


# ---------------------------------------------------------------- the samples


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    from click.testing import CliRunner

    out = tmp_path_factory.mktemp("gen") / "generated"
    logs = [str(SAMPLES / "support-triage.jsonl.gz"), str(SAMPLES / "invoice-intake.csv"),
            str(SAMPLES / "release-cleanup" / "month1.jsonl")]  # fmt: skip
    result = CliRunner().invoke(cli, ["migrate", *logs, "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    return out


@pytest.mark.slow
def test_every_replace_step_gets_a_function_and_its_tests_pass(generated: Path, runner) -> None:
    logs = [str(SAMPLES / "support-triage.jsonl.gz"), str(SAMPLES / "invoice-intake.csv"),
            str(SAMPLES / "release-cleanup" / "month1.jsonl")]  # fmt: skip
    data = json.loads(runner.invoke(cli, ["assess", *logs, "--format", "json"]).stdout)
    for w in data["workflows"]:
        replaced = {s["step"] for s in w["steps"] if s["recommendation"] == "replace"}
        module = generated / f"{snake_case(w['workflow'])}.py"
        assert replaced <= set(load_steps(module)), w["workflow"]
        source = module.read_text()
        for step in replaced:
            assert f"def {snake_case(step)}(" in source
    done = run_pytest(generated)
    assert done.returncode == 0, done.stdout[-2000:]
    assert " passed" in done.stdout


def test_verify_agrees_on_the_samples(generated: Path, runner) -> None:
    logs = [str(SAMPLES / "support-triage.jsonl.gz"), str(SAMPLES / "invoice-intake.csv"),
            str(SAMPLES / "release-cleanup" / "month1.jsonl")]  # fmt: skip
    result = runner.invoke(cli, ["verify", str(generated), *logs, "--format", "json"])
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    written = [s for s in report["steps"] if not s["stub"]]
    assert len(written) >= 13
    assert all(s["agreement"] >= 0.95 for s in written)


def test_generated_code_uses_only_the_standard_library_and_is_formatted(generated: Path) -> None:
    allowed = set(sys.stdlib_module_names) | {"__future__"}
    for path in generated.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                assert {a.name.split(".")[0] for a in node.names} <= allowed, path
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                assert node.module.split(".")[0] in allowed, path
    done = subprocess.run([sys.executable, "-m", "ruff", "format", "--check",
                           "--line-length", "100", str(generated)],
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout


def test_stubs_carry_examples_and_raise(generated: Path) -> None:
    source = (generated / "support_triage.py").read_text()
    tree = ast.parse(source)
    stub = next(n for n in tree.body if isinstance(n, ast.FunctionDef)
                and n.name == "translate_subject")  # fmt: skip
    doc = ast.get_docstring(stub)
    assert "Logged examples" in doc and "->" in doc
    raised = [n for n in ast.walk(stub) if isinstance(n, ast.Raise)]
    assert raised and "NotImplementedError" in ast.unparse(raised[0])


def test_verify_fails_below_min_agreement_and_reports_mismatches(
    generated: Path, tmp_path: Path, runner
) -> None:
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(generated, broken)
    module = broken / "invoice_intake.py"
    module.write_text(module.read_text().replace('return "auto"', 'return "nobody"'))
    result = runner.invoke(cli, ["verify", str(broken), str(SAMPLES / "invoice-intake.csv")])
    assert result.exit_code == 1
    assert "approval_route" in result.stderr and "below 95% agreement" in result.stderr
    assert 'expected "auto", got "nobody"' in result.stdout


@pytest.mark.slow
def test_verify_stops_code_that_never_ends(generated: Path, tmp_path: Path, runner) -> None:
    import shutil

    stuck = tmp_path / "stuck"
    shutil.copytree(generated, stuck)
    module = stuck / "invoice_intake.py"
    module.write_text(
        module.read_text().replace(
            "def vendor_cost_center(vendor: str) -> str:\n",
            "def vendor_cost_center(vendor: str) -> str:\n    while True:\n        pass\n",
            1,
        )
    )
    result = runner.invoke(cli, ["verify", str(stuck), str(SAMPLES / "invoice-intake.csv"),
                                 "--timeout", "3"])  # fmt: skip
    assert result.exit_code != 0
    assert "timed out" in result.stderr


# ---------------------------------------------------------------- files


@pytest.mark.slow  # end to end
def test_existing_files_are_never_overwritten_without_force(generated: Path, runner) -> None:
    readme = generated / "README.md"
    before = {p: p.read_bytes() for p in generated.rglob("*") if p.is_file()}
    readme.write_text("mine")
    result = runner.invoke(cli, ["migrate", str(SAMPLES / "invoice-intake.csv"), "--out",
                                 str(generated)])  # fmt: skip
    assert result.exit_code == 4
    assert "exists; pass --force" in result.stderr
    assert readme.read_text() == "mine"
    forced = runner.invoke(cli, ["migrate", str(SAMPLES / "invoice-intake.csv"), "--out",
                                 str(generated), "--force"])  # fmt: skip
    assert forced.exit_code == 0, forced.stderr
    assert readme.read_text() != "mine"
    assert (generated / "invoice_intake.py").read_bytes() == before[generated / "invoice_intake.py"]


@pytest.mark.slow  # end to end
def test_every_workflow_gets_a_module_even_with_nothing_to_replace(tmp_path: Path, runner) -> None:
    path = write_jsonl(
        tmp_path / "log.jsonl",
        [record(run_id=f"r{i}", step="code_only", input=i, output=i) for i in range(30)],
    )
    out = tmp_path / "out"
    result = runner.invoke(cli, ["migrate", str(path), "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    assert "STEPS are empty" in result.stderr
    assert load_steps(out / "wf.py") == []
    done = run_pytest(out)
    assert done.returncode in (0, 5), done.stdout[-2000:]  # 5: no test case to run


# ---------------------------------------------------------------- hostile logs

HOSTILE_NAMES = [
    'extract "id"',
    "extract-id",
    "extract id",
    'tri"""ple',
    "back\\slash",
    "new\nline",
    "__import__('os').system('touch PWNED')",
    "return",
    "None",
    "class",
    "ünïcödé",
    "STEPS",
    "\u202eevil",
    "{brace}",
]
HOSTILE_TEXT = [
    'say """hi"""',
    "C:\\path\\",
    "line1\nline2",
    "{not} {a} {format}",
    'it\'s "quoted"',
    "__import__('os').system('touch PWNED')",
    "\u202e\u2066rtl",
    "emoji 🎉",
    "end\\",
    "'''",
    "#!comment",
    "\x00nul",
]


def hostile_log(path: Path) -> Path:
    rows = []
    for i in range(60):
        for j, name in enumerate(HOSTILE_NAMES):
            text = HOSTILE_TEXT[i % len(HOSTILE_TEXT)]
            key = HOSTILE_TEXT[j % len(HOSTILE_TEXT)]
            kind = j % 4
            if kind == 0:  # a constant
                inp, out = {"n": i}, HOSTILE_TEXT[j % len(HOSTILE_TEXT)]
            elif kind == 1:  # a template around a field
                inp, out = {"who": text}, f'Hello "{text}" \\ {{x}}'
            elif kind == 2:  # a field copied from a hostile key
                inp, out = {key: text, "n": i}, text
            else:  # a table over hostile values
                inp, out = {"k": HOSTILE_TEXT[i % 4]}, HOSTILE_TEXT[(i % 4) + 4]
            rows.append(
                record(
                    workflow=["class", "def; import os", 'wf"x', "wf\\n"][j % 4],
                    run_id=f"r{i}",
                    step=name,
                    model="gpt-4o-mini",
                    input_tokens=10,
                    output_tokens=2,
                    input=inp,
                    output=out,
                )
            )
    return write_jsonl(path, rows)


@pytest.mark.slow
def test_hostile_logs_give_safe_working_code(tmp_path: Path, runner) -> None:
    log = hostile_log(tmp_path / "hostile.jsonl")
    out = tmp_path / "out"
    result = runner.invoke(cli, ["migrate", str(log), "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    modules = sorted(out.glob("*.py"))
    names = {p.stem for p in modules} - {"__init__", "_shadow"}
    assert len(names) == 4  # one module per workflow, names sanitised and distinct
    for stem in names:
        assert stem.isidentifier() and not keyword.iskeyword(stem)
    registered = set()
    for path in modules:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef):
                assert node.name.isidentifier() and not keyword.iskeyword(node.name)
            # Log content appears only as constants: never as a call to something it names.
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id != "__import__"
        if path.stem in names:
            registered |= set(load_steps(path))
    assert registered == set(HOSTILE_NAMES)
    done = run_pytest(out)
    assert done.returncode == 0, done.stdout[-3000:]
    assert not (tmp_path / "PWNED").exists() and not Path("PWNED").exists()
    assert not (out / "PWNED").exists()
    verify = runner.invoke(cli, ["verify", str(out), str(log)])
    assert verify.exit_code == 0, verify.stderr


@pytest.mark.slow
def test_a_table_over_two_fields_renders_with_tuple_keys(tmp_path: Path, runner) -> None:
    import random

    rng = random.Random(5)
    queues = {(i, t): f"q-{rng.randint(100, 999)}" for i in ("refund", "login", "ship")
              for t in ("free", "pro")}  # fmt: skip
    rows = []
    for n in range(200):
        intent, tier = rng.choice(["refund", "login", "ship"]), rng.choice(["free", "pro"])
        rows.append(record(run_id=f"r{n}", step="route", model="gpt-4o-mini", input_tokens=9,
                           output_tokens=2, input={"intent": intent, "tier": tier},
                           output=queues[(intent, tier)]))  # fmt: skip
    log = write_jsonl(tmp_path / "log.jsonl", rows)
    out = tmp_path / "out"
    result = runner.invoke(cli, ["migrate", str(log), "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    source = (out / "wf.py").read_text()
    assert '("refund", "free"): ' in source and "[(intent, tier)]" in source
    assert run_pytest(out).returncode == 0
    assert runner.invoke(cli, ["verify", str(out), str(log)]).exit_code == 0


@pytest.mark.slow
def test_numbers_formatted_in_text_render_and_pass(tmp_path: Path, runner) -> None:
    import random

    rng = random.Random(8)
    rows = []
    for n in range(150):
        total = round(rng.uniform(10, 20000), 2)
        rows.append(record(run_id=f"r{n}", step="summary line", model="gpt-4o-mini",
                           input_tokens=20, output_tokens=8, input={"total": total},
                           output=f"Total due: {total:,.2f} EUR ({total:.2f})"))  # fmt: skip
    log = write_jsonl(tmp_path / "log.jsonl", rows)
    out = tmp_path / "out"
    result = runner.invoke(cli, ["migrate", str(log), "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    source = (out / "wf.py").read_text()
    assert 'format(total, ",.2f")' in source and 'format(total, ".2f")' in source
    assert run_pytest(out).returncode == 0
