"""``python -m streamd.daemon serve``: the daemon, as service managers run it."""

import sys

from ._main import main

sys.exit(main())
