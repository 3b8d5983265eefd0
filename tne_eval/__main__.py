"""``python -m tne_eval``: the ``tne-eval`` command without the console script."""

import sys

from tne_eval.cli import main

if __name__ == "__main__":  # pragma: no cover - exercised through a subprocess
    sys.exit(main())
