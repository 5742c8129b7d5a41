"""The step and the verdict: is the tool stream advancing, or returning the same bytes
again? The rules that decide it are ``rules``'."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._policy import Policy


class StreamState(enum.StrEnum):
    ADVANCING = "ADVANCING"
    REPEATING = "REPEATING"
    STALLED = "STALLED"


StepKey = tuple[str, str, str]
FailureKey = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Step:
    """One tool call: who was called with what, and the digest of what came back.
    ``shape_digest`` hashes the result without its noise (None: it had none, so the
    exact digest is its shape);
    ``failure_digest`` fingerprints a failed call's error;
    ``artifact`` names what the host did instead of running the call (``cancelled``,
    ``refused``, ``interrupted``): no attempt of the agent's, so no rule counts it;
    ``call_digest`` hashes the call with its arguments in canonical form (None: the
    same as ``args_digest``); ``writes``: the call may change files."""

    tool_name: str
    args_digest: str
    result_digest: str | None = None
    shape_digest: str | None = None
    failure_digest: str | None = None
    artifact: str | None = None
    call_digest: str | None = None
    writes: bool = False

    @property
    def call(self) -> str:
        """The call's identity for rules that see through spelling."""
        return self.call_digest or self.args_digest

    def _tool(self, policy: Policy) -> str | None:
        """The casefolded tool when this step can extend a run: it has a result and its
        tool is not exempt."""
        if self.result_digest is None:
            return None
        folded = self.tool_name.casefold()
        return None if folded in policy.ignored else folded

    def key(self, policy: Policy) -> StepKey | None:
        """The identity two steps must share to extend a run; None breaks any run."""
        tool = self._tool(policy)
        if tool is None or self.result_digest is None:
            return None
        return (tool, self.args_digest, self.result_digest)


@dataclass(frozen=True, slots=True)
class Verdict:
    """``repeat_run`` counts the repeated calls (for ``cycle``, the steps the repeating
    cycle covers, ``period`` calls a round); ``rule`` names the rule that decided."""

    state: StreamState
    repeat_run: int
    repeated_step: Step | None
    reason: str
    rule: str = "exact"
    period: int = 1
    audience: str = "model"
    """``model``: advice precise enough to interrupt the agent with; ``people``: a note
    for ``status``, ``replay`` and ``report``, which the model hears only when the
    policy says so."""

    @property
    def fired(self) -> bool:
        return self.state is not StreamState.ADVANCING
