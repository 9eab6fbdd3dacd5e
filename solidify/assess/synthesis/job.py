"""One step's search as a unit of work (see solidify.assess.searches for who runs it).

Each search is independent and deterministic, so the results do not depend on which
process ran it.
"""

from __future__ import annotations

from dataclasses import dataclass

from solidify.assess.synthesis.engine import Synthesis, fit_and_measure


@dataclass(frozen=True)
class Job:
    train: list[tuple[str, str]]
    held: list[tuple[str, str]]
    time_limit: float

    def run(self) -> Synthesis:
        return fit_and_measure(self.train, self.held, time_limit=self.time_limit)
