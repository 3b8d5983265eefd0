"""Emit warnings that point at the caller's code, not at tne_eval internals."""

from __future__ import annotations

import os
import sys
import warnings

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def warn(message: str, category: type[Warning]) -> None:
    """Warn with a ``stacklevel`` pointing at the first frame outside tne_eval."""
    frame = sys._getframe(1)
    level = 2  # stacklevel=2 is the caller of warn()
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(
        _PACKAGE_DIR
    ):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)
