"""The evaluation report: chapters executed with parameters, laid out for a reader.

:func:`run_report` executes the chapter notebooks (listed in
:mod:`tne_eval.reporting.chapters`) with injected parameters and writes one
self-contained HTML report (:mod:`tne_eval.reporting.document`), written by each
chapter through :class:`tne_eval.reporting.blocks.Chapter` in French or
English (:mod:`tne_eval.reporting.fmt`). The key numbers the chapters publish
(:func:`publish_key_numbers`) form the results manifest
(:mod:`tne_eval.reporting.manifest`), compared with a committed copy by
``tne-eval reproduce --check``. Key numbers are regression numbers produced by
tne_eval itself, not external references.
"""

from tne_eval.reporting.key_numbers import (
    KEY_NUMBERS_MIME,
    compare_key_numbers,
    extract_key_numbers,
    publish_key_numbers,
)
from tne_eval.reporting.runner import (
    NotebookExecutionError,
    ReportRun,
    provenance,
    run_report,
    write_key_numbers,
)

__all__ = [
    "KEY_NUMBERS_MIME",
    "NotebookExecutionError",
    "ReportRun",
    "compare_key_numbers",
    "extract_key_numbers",
    "provenance",
    "publish_key_numbers",
    "run_report",
    "write_key_numbers",
]
