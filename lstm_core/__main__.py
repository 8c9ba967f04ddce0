"""Entry point of `python -m lstm_core`; Ctrl-C while the heavy imports load exits cleanly too."""

import sys

try:
    from lstm_core.cli import main
except KeyboardInterrupt:  # torch and pandas take seconds to import
    sys.stderr.write("error: interrupted\n")
    sys.exit(130)

sys.exit(main())
