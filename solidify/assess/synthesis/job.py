"""One step's search as a unit of work (see solidify.assess.searches for who runs it).

Each search is independent and deterministic, so the results do not depend on which
process ran it.
"""

from __future__ import annotations

from dataclasses import dataclass

from solidify.assess.prompts.fit import fit
from solidify.assess.synthesis.engine import Synthesis
from solidify.assess.synthesis.reuse import Kept


@dataclass(frozen=True)
class Job:
    train: list[tuple[str, str]]
    held: list[tuple[str, str]]
    time_limit: float
    prompts: list[str | None] | None = None  # the training records' `extra` (logged prompts)
    failed: tuple[tuple[str, str | None], ...] = ()  # failed executions: (input, error)
    routes: bool = True  # look for a route too (only a model's step can be routed)
    known: tuple[Kept, ...] = ()  # programs kept from earlier assessments, re-checked first

    def run(self) -> Synthesis:
        # Prompt-form steps are decomposed first (templates, slots, answer formats).
        return fit(
            self.train, self.held, time_limit=self.time_limit, prompts=self.prompts,
            failed=self.failed, routes=self.routes, known=self.known,
        )  # fmt: skip
