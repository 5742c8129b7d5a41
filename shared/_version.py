"""streamd's version: the daemon reports it, the CLI compares it (pyproject agrees)."""

VERSION = "0.1.0"
