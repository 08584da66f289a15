"""``python -m paretoul``: the ``paretoul`` command."""

import sys

from paretoul.cli import main

sys.exit(main())
