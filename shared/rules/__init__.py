"""The rules, one module each behind ``RuleSpec`` (``_base``): ``exact`` (dos-kernel's),
``noisy``, ``failure``, ``cycle`` and ``recurrence``, folded together by ``Detector``.
Every rule asks for the same evidence by default: a third occurrence (the third
identical result, the third same failure, the third round) makes it REPEATING, a fifth
STALLED; a single repetition is rarely a loop. A new rule is a module here and a line
in ``SPECS``."""

from ._base import EXCERPT_LIMIT, Counts, Evidence, RuleSpec, clip
from ._detector import BY_NAME, RULES, SPECS, Detector
from .cycle import MAX_PERIOD
from .exact import StreamTracker, classify, verdict_for_run
from .failure import FailureSettings

__all__ = [
    "BY_NAME",
    "EXCERPT_LIMIT",
    "MAX_PERIOD",
    "RULES",
    "SPECS",
    "Counts",
    "Detector",
    "Evidence",
    "FailureSettings",
    "RuleSpec",
    "StreamTracker",
    "classify",
    "clip",
    "verdict_for_run",
]
