"""``python -m streamd.client``: the ``streamd`` operator command."""

import sys

from ._cli import main

sys.exit(main())
