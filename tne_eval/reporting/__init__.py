"""Reports: execute the evaluation notebooks and collect their key numbers.

Notebooks publish the numbers a reviewer must be able to reproduce with
:func:`publish_key_numbers`; :func:`run_report` executes every notebook of a
folder, writes each as HTML and Markdown, and gathers the key numbers into one
JSON file that can be compared with a committed copy
(:func:`compare_key_numbers`), with a provenance file saying what produced them
(:func:`write_key_numbers`). Key numbers are regression numbers produced by
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
