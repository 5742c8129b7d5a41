"""streamd's hook shim: ``hook.py`` is run by the host once per tool call."""
