"""Open the HTML report in headless Chromium: it renders, logs no console error, and the
page asks for nothing over the network. (.ci/run installs Debian's chromium.)"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from tests.conftest import ROOT

SCREENSHOT = ROOT / "docs" / "images" / "report.png"

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# End to end, and slow: run with `pytest -m slow` (CI runs both).
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed"),
]

# Nothing may leave the machine: every name resolves to nothing and every request goes to
# a closed local port. The browser's own background traffic is switched off as well.
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--disable-client-side-phishing-detection",
    "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9",
    "--enable-logging=stderr", "--v=0", "--window-size=1200,1800",
]  # fmt: skip


def open_page(page: Path, work: Path) -> tuple[np.ndarray, list[str], list[str]]:
    """(screenshot pixels, console lines, URLs the page itself requested)."""
    shot, netlog = work / "shot.png", work / "net.json"
    done = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={work / 'profile'}", f"--log-net-log={netlog}",
         f"--screenshot={shot}", page.resolve().as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert shot.exists(), done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    log = json.loads(netlog.read_text())
    names = {v: k for k, v in log["constants"]["logEventTypes"].items()}
    requested = [
        e["params"]["url"]
        for e in log["events"]
        if names.get(e["type"]) == "URL_REQUEST_START_JOB"
        and str(e.get("params", {}).get("network_isolation_key", "")).startswith("file://")
    ]
    return imread(shot), console, requested


def test_the_report_renders_offline_without_errors(tmp_path: Path, sample_report: Path) -> None:
    pixels, console, requested = open_page(sample_report, tmp_path)
    assert requested == []
    assert console == []
    if os.environ.get("SOLIDIFY_UPDATE_SCREENSHOT"):
        # docs/images/report.png is this very screenshot: refresh it after changing reports.
        shutil.copyfile(tmp_path / "shot.png", SCREENSHOT)
    kept = imread(SCREENSHOT)
    assert kept.shape[:2] == pixels.shape[:2]  # taken the same way: same window
    ink = pixels[..., :3].mean(axis=2) < 0.9  # anything darker than near-white
    assert ink.mean() > 0.03  # text and charts, not a blank page
    assert pixels[..., :3].std() > 0.1
    # The charts are drawn: coloured pixels of the recommendation palette are present.
    green = (pixels[..., 1] > 0.4) & (pixels[..., 0] < 0.35) & (pixels[..., 2] < 0.35)
    assert green.sum() > 500


def test_the_check_itself_sees_requests_and_console_errors(tmp_path: Path) -> None:
    page = tmp_path / "leaky.html"
    page.write_text('<p>x</p><img src="http://example.invalid/a.png">'
                    '<script>console.error("boom")</script>')  # fmt: skip
    _, console, requested = open_page(page, tmp_path)
    assert requested == ["http://example.invalid/a.png"]
    assert any("boom" in line for line in console)
