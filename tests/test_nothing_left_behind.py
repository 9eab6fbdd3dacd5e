"""An assessment that fails or is stopped after reading began leaves no process running
and nothing in /dev/shm or the temporary folder (no `solidify-*` folder of the step
table's database)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from solidify.errors import ExitStatus

SHM = Path("/dev/shm")
# What a shell shows as 130: the exit status, or Python ending itself by SIGINT (as it does
# when an interrupt is still pending as it exits).
INTERRUPTED = (ExitStatus.INTERRUPTED, -signal.SIGINT)


# End to end, and slow: run with `pytest -m slow` (CI runs both).
pytestmark = pytest.mark.slow


def big_log(path: Path, records: int = 120_000) -> Path:
    """About 30 MB of canonical records with varied inputs: large enough for every helper
    the assessment may start."""
    kinds = ["refund", "shipping", "account", "billing"]
    with open(path, "w", encoding="utf-8") as out:
        for n in range(records):
            run, step = divmod(n, 4)
            record = {
                "workflow": f"support-{run % 3}",
                "run_id": f"run-{run}",
                "step": f"step_{step}",
                "kind": "llm",
                "model": "gpt-4o-mini",
                "input_tokens": 300 + n % 97,
                "output_tokens": 5 + n % 13,
                "started_at": "2026-09-01T00:00:00+00:00",
                "input": {"body": f"My order A-{10000 + run} is late, please call me. " * 2},
                "output": kinds[(run * 7 + step) % 4] if step % 2 else f"A-{10000 + run}",
            }
            out.write(json.dumps(record) + "\n")
    return path


def _ours(marker: str) -> list[int]:
    """Processes alive that carry this run's marker in their environment."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker.encode() in environ and state != "Z":
            found.append(int(entry.name))
    return found


def _shm_entries() -> set[str]:
    return {p.name for p in SHM.iterdir()} if SHM.is_dir() else set()


def _start(tmp_path: Path, args: list[str]) -> tuple[subprocess.Popen, str, Path, set[str]]:
    temp = tmp_path / "tmp"
    temp.mkdir(exist_ok=True)
    marker = f"SOLIDIFY_TEST_RUN={uuid.uuid4().hex}"
    env = dict(os.environ, TMPDIR=str(temp), SOLIDIFY_TEST_RUN=marker.split("=")[1])
    env.pop("SOLIDIFY_WORKERS", None)
    before = _shm_entries()
    child = subprocess.Popen(
        [sys.executable, "-m", "solidify", "assess", *args, "--format", "json"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    return child, marker, temp, before


def _assert_nothing_left(child: subprocess.Popen, marker: str, temp: Path, before: set[str]):
    deadline = time.monotonic() + 1
    while _ours(marker) and time.monotonic() < deadline:
        time.sleep(0.05)  # a process on its way out
    alive = _ours(marker)
    for pid in alive:  # do not leave them to the next test either
        os.kill(pid, signal.SIGKILL)
    assert alive == [], "processes of the assessment still running"
    mine = {name for name in _shm_entries() - before if name.startswith("solidify-")}
    assert mine == set(), f"left in /dev/shm: {mine}"
    assert list(temp.iterdir()) == [], "left in the temporary folder"


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return big_log(tmp_path_factory.mktemp("big") / "big.jsonl")


@pytest.mark.parametrize(
    "extra, message",
    [
        (["missing.jsonl"], "no such file"),
        (["--config", "bad.yaml"], "bad.yaml"),
    ],
    ids=["missing-second-file", "bad-config"],
)
def test_a_failing_assessment_leaves_nothing(tmp_path: Path, log: Path, extra, message) -> None:
    (tmp_path / "bad.yaml").write_text("prices: [unclosed\n", encoding="utf-8")
    child, marker, temp, before = _start(tmp_path, [str(log), *extra])
    _, err = child.communicate(timeout=60)
    assert child.returncode not in (0, None)
    assert message in err.decode()
    assert "Traceback" not in err.decode()
    _assert_nothing_left(child, marker, temp, before)


def _wait_for(child: subprocess.Popen, marker: str, temp: Path, reading: bool) -> bool:
    """Wait until the assessment is reading (its step table's folder exists) or searching
    (workers are at work beside the open step table). False if it finished first."""
    deadline = time.monotonic() + 60
    while child.poll() is None and time.monotonic() < deadline:
        database = any(p.name.startswith("solidify-") for p in temp.iterdir())
        if reading and database:
            return True
        workers = [pid for pid in _ours(marker) if pid != child.pid]
        if not reading and database and workers:
            return True
        time.sleep(0.01)
    return False


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("reading", [True, False], ids=["reading", "assessing"])
def test_an_assessment_stopped_midway_leaves_nothing(
    tmp_path: Path, log: Path, signum: int, reading: bool
) -> None:
    child, marker, temp, before = _start(tmp_path, [str(log)])
    if not _wait_for(child, marker, temp, reading):
        child.kill()
        child.communicate()
        pytest.skip("the assessment finished before it could be stopped")
    child.send_signal(signum)
    _, err = child.communicate(timeout=60)
    assert child.returncode in INTERRUPTED
    assert err.decode().splitlines()[-1] == "Aborted!"
    assert "Traceback" not in err.decode()
    _assert_nothing_left(child, marker, temp, before)


def test_ctrl_c_at_any_moment_is_one_line(tmp_path: Path, log: Path) -> None:
    """Ctrl-C lands wherever the assessment is: in Python, in a DuckDB query (which reports
    it as its own error) or in a function DuckDB calls. Each time: `Aborted!`, status 130."""
    child, marker, temp, before = _start(tmp_path, [str(log)])
    began = time.monotonic()
    child.communicate(timeout=120)
    whole = time.monotonic() - began
    for share in (0.15, 0.3, 0.45, 0.6, 0.75, 0.9):
        child, marker, temp, before = _start(tmp_path, [str(log)])
        time.sleep(whole * share)
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=60)
        text = err.decode()
        assert "Traceback" not in text, text
        if child.returncode != 0:  # else it had finished
            assert child.returncode in INTERRUPTED, text
            assert text.splitlines()[-1] == "Aborted!", text
        _assert_nothing_left(child, marker, temp, before)
