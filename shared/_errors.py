"""The one base class of every error streamd raises."""


class StreamdError(Exception):
    """Raised, through a subclass, when streamd cannot do what was asked; the message
    says what went wrong and, where it can, what to do."""


class PolicyError(StreamdError, ValueError):
    """Raised when a ``dos.toml`` policy is malformed or inconsistent."""
