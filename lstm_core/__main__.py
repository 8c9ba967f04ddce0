"""Entry point of `python -m lstm_core`; Ctrl-C while the heavy imports load exits cleanly too."""

import signal
import sys

_interrupted = []  # this script's own record; an import that swallows the exception cannot hide it


def _on_interrupt(signum, frame):
    _interrupted.append(signum)
    raise KeyboardInterrupt


signal.signal(signal.SIGINT, _on_interrupt)
try:
    from lstm_core.cli import main  # torch and pandas take seconds to import
except KeyboardInterrupt:
    _interrupted.append(signal.SIGINT)
signal.signal(signal.SIGINT, signal.default_int_handler)  # main() handles Ctrl-C from here on
if _interrupted:
    sys.stderr.write("error: interrupted\n")
    sys.exit(130)
sys.exit(main())
