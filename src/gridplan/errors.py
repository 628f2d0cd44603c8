"""The one error hierarchy of gridplan.

Every error raised on purpose by gridplan derives from :class:`GridplanError`. The HTTP layer
(``gridplan.api``) maps each class to one status code, once; the command line prints
``str(error)`` as its one-line reason and exits non-zero.
"""

from __future__ import annotations

from dataclasses import dataclass


class GridplanError(Exception):
    """Base class of every deliberate gridplan error."""


@dataclass(frozen=True)
class FeatureProblem:
    """One rejected input feature.

    Parameters
    ----------
    layer
        The layer kind or file the feature came from.
    feature
        The feature's id (its id column, else its row number as ``row N``).
    reason
        What is wrong with it, in words a planner understands.
    """

    layer: str
    feature: str
    reason: str

    def __str__(self) -> str:
        return f"{self.layer} feature {self.feature}: {self.reason}"


class InputError(GridplanError):
    """Bad input: an unreadable file, a missing field, a bad parameter."""


class CRSError(InputError):
    """A missing, unknown or unsuitable coordinate reference system."""


class InvalidFeaturesError(InputError):
    """One or more features failed validation; nothing was loaded.

    Parameters
    ----------
    problems
        Every problem found, not only the first.
    """

    def __init__(self, problems: list[FeatureProblem]) -> None:
        self.problems = list(problems)
        first = "; ".join(str(p) for p in self.problems[:3])
        more = f" (and {len(self.problems) - 3} more)" if len(self.problems) > 3 else ""
        super().__init__(f"{len(self.problems)} invalid feature(s): {first}{more}")


class NotFoundError(GridplanError):
    """An unknown id: a plan, an area, a unit, a compound, a collection."""


class ConflictError(GridplanError):
    """The request contradicts stored state (e.g. overwriting an immutable plan)."""


class InfeasibleError(GridplanError):
    """No plan satisfies the constraints; the message says exactly why."""


class ScenarioError(GridplanError):
    """A scenario step failed; the store is unchanged.

    Parameters
    ----------
    step
        The 1-based index of the failing step.
    action
        The step's action name.
    reason
        Why it failed.
    """

    def __init__(self, step: int, action: str, reason: str) -> None:
        self.step = step
        self.action = action
        self.reason = reason
        super().__init__(f"step {step} ({action}): {reason}")


class StoreError(GridplanError):
    """The store cannot be opened, migrated or written."""


class AuthError(GridplanError):
    """A write was attempted without a valid token."""


class LimitError(InputError):
    """A request is larger than the configured limits allow."""
