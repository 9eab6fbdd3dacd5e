"""Third-party modules the assessment imports after reading, imported on a thread
while DuckDB numbers a large file's lines, a scan that keeps one core busy and leaves
the other idle (genai-prices alone takes 0.2 s to import).

Only self-contained libraries that reading never imports are preloaded, so that no
import of the reader's waits on this thread, and none of solidify's own modules,
whose import order matters. A process forks its search workers only after `wait()`:
a fork in the middle of an import would leave the module locked in the worker.
"""

from __future__ import annotations

import importlib
import threading

MODULES = ("genai_prices",)

_thread: threading.Thread | None = None


def _import_all() -> None:
    for name in MODULES:
        try:
            importlib.import_module(name)
        except Exception:  # the import where it is needed says what is wrong
            return


def start() -> None:
    """Begin importing MODULES on a thread (once per process)."""
    global _thread
    if _thread is None:
        _thread = threading.Thread(target=_import_all, name="solidify-preload", daemon=True)
        _thread.start()


def wait() -> None:
    """Return once the imports begun by `start` are done."""
    if _thread is not None:
        _thread.join()
