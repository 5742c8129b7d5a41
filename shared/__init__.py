"""streamd's core, shared by the daemon and the hook shim's fallback. Standard library
only.

Pure (no I/O): the verdict and its rules (``Detector``; ``StreamTracker`` is
dos-kernel's exact rule), result shapes and failure fingerprints, the event adapter and
its digests, the policy, the record format, deciding one hook call, and the answer in
each host's dialect. File I/O: session-log files (append under ``flock`` and fsync,
read forwards or backwards), tail recovery, a workspace's ``dos.toml``, and the shim's
offline decision.
"""

from ._adapter import (
    HookEvent,
    adapt_event,
    call_digest,
    canonical_bytes,
    digest,
    parse_event,
    safe_session_name,
    step_from_event,
)
from ._answer import EXCERPT_LIMIT, context_text, excerpt, render_answer
from ._decide import Decision, HookRequest, Target, decide, resolve
from ._errors import StreamdError
from ._hosts import (
    DEFAULT_HOST,
    HOSTS,
    Host,
    Installer,
    UnknownHost,
    answer_payload,
    host_table,
    to_claude_shape,
)
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
    MAX_PERIOD,
    POLICY_FILENAME,
    RULES,
    Policy,
    PolicyError,
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
from ._rules import Detector
from ._shape import failure_gist, normalize
from ._tail import IDEMPOTENCY_WINDOW, Recovery, recover, recover_fd, window_ids
from ._verdict import Step, StreamState, StreamTracker, Verdict, classify
from ._workspace import load_policy, policy_or_default, policy_path

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_POLICY",
    "EXCERPT_LIMIT",
    "HOSTS",
    "IDEMPOTENCY_WINDOW",
    "MAX_PERIOD",
    "POLICY_FILENAME",
    "RULES",
    "SCHEMA_FAMILY",
    "SCHEMA_VERSION",
    "STREAMS_DIR",
    "Decision",
    "Detector",
    "HookEvent",
    "HookRequest",
    "Host",
    "Installer",
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
    "UnknownHost",
    "UnsafeLogPath",
    "Verdict",
    "adapt_event",
    "answer_payload",
    "call_digest",
    "canonical_bytes",
    "classify",
    "context_text",
    "decide",
    "digest",
    "encode_record",
    "excerpt",
    "failure_gist",
    "handle_offline",
    "host_table",
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
    "recover",
    "recover_fd",
    "render_answer",
    "resolve",
    "safe_session_name",
    "step_from_event",
    "to_claude_shape",
    "window_ids",
]
