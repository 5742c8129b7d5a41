"""streamd's core, shared by the daemon, the hook's fallback and the operator commands.
Standard library only.

Pure (no I/O): the step and the verdict, the rules (``rules``: one module each, folded
by ``Detector``), result shapes and failure fingerprints, the event adapter and its
digests, the policy, the record format, deciding one hook call, the hosts (``hosts``:
one module each, with its dialect, answer, installer data and transcript reader) and
the wire (``_wire``). File I/O: session-log files (append under ``flock`` and fsync,
read forwards or backwards), tail recovery, a workspace's ``dos.toml``, transcripts and
the hook's offline decision.
"""

from . import hosts, rules
from ._adapter import (
    HookEvent,
    adapt_event,
    call_digest,
    call_digests,
    canonical_bytes,
    digest,
    parse_event,
    safe_session_name,
    step_from_event,
)
from ._answer import context_text, excerpt, render_answer
from ._decide import Decision, HookRequest, Target, decide, resolve
from ._errors import PolicyError, StreamdError
from ._files import UnreadableFile
from ._formats import FORMATS, SESSION_LOG, default_folders, detect, read_transcript
from ._log import (
    LockedLog,
    UnsafeLogPath,
    iter_records_backwards,
    lock_log,
    open_locked,
    open_log,
    read_records,
)
from ._offline import handle_offline
from ._policy import (
    DEFAULT_POLICY,
    POLICY_FILENAME,
    Policy,
    parse_policy,
    policy_from_table,
)
from ._record import (
    SCHEMA_FAMILY,
    SCHEMA_VERSION,
    STREAMS_DIR,
    Record,
    encode_record,
    log_path,
    parse_line,
    parse_record,
)
from ._shape import failure_gist, normalize
from ._tail import IDEMPOTENCY_WINDOW, Recovery, recover, recover_fd, window_ids
from ._transcript import Transcript, UnknownFormat
from ._verdict import Step, StreamState, Verdict
from ._version import VERSION
from ._workspace import load_policy, policy_or_default, policy_path
from .hosts import DEFAULT_HOST, Host, UnknownHost
from .rules import (
    EXCERPT_LIMIT,
    MAX_PERIOD,
    RULES,
    Counts,
    Detector,
    FailureSettings,
    StreamTracker,
    classify,
)

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_POLICY",
    "EXCERPT_LIMIT",
    "FORMATS",
    "IDEMPOTENCY_WINDOW",
    "MAX_PERIOD",
    "POLICY_FILENAME",
    "RULES",
    "SCHEMA_FAMILY",
    "SCHEMA_VERSION",
    "SESSION_LOG",
    "STREAMS_DIR",
    "VERSION",
    "Counts",
    "Decision",
    "Detector",
    "FailureSettings",
    "HookEvent",
    "HookRequest",
    "Host",
    "LockedLog",
    "Policy",
    "PolicyError",
    "Record",
    "Recovery",
    "Step",
    "StreamState",
    "StreamTracker",
    "StreamdError",
    "Target",
    "Transcript",
    "UnknownFormat",
    "UnknownHost",
    "UnreadableFile",
    "UnsafeLogPath",
    "Verdict",
    "adapt_event",
    "call_digest",
    "call_digests",
    "canonical_bytes",
    "classify",
    "context_text",
    "decide",
    "default_folders",
    "detect",
    "digest",
    "encode_record",
    "excerpt",
    "failure_gist",
    "handle_offline",
    "hosts",
    "iter_records_backwards",
    "load_policy",
    "lock_log",
    "log_path",
    "normalize",
    "open_locked",
    "open_log",
    "parse_event",
    "parse_line",
    "parse_policy",
    "parse_record",
    "policy_from_table",
    "policy_or_default",
    "policy_path",
    "read_records",
    "read_transcript",
    "recover",
    "recover_fd",
    "render_answer",
    "resolve",
    "rules",
    "safe_session_name",
    "step_from_event",
    "window_ids",
]
