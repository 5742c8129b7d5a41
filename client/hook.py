"""The command a host runs: ``python3 -S -I hook.py ...``. Kept this small because a
script is compiled on every run; the shim is imported from its cached bytecode."""

import sys

sys.path.insert(0, __file__[: max(__file__.rfind("/"), __file__.rfind("\\")) + 1] or ".")
from _shim import main  # type: ignore[import-not-found]

main()
