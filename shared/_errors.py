"""The one base class of every error streamd raises."""


class StreamdError(Exception):
    """Raised, through a subclass, when streamd cannot do what was asked; the message
    says what went wrong and, where it can, what to do."""
