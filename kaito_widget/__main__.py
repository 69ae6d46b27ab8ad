"""``python -m kaito_widget``: the same terminal chat as the ``kaito-chat`` command."""

import sys

from .terminal.cli import main

sys.exit(main())
