"""``python -m streamd.daemon``: the ``streamd`` command, for service managers."""

import sys

from ._cli import main

sys.exit(main())
