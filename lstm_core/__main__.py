"""Entry point of `python -m lstm_core`."""

import sys

from lstm_core.cli import main

sys.exit(main())
