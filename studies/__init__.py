"""Seeded Monte Carlo studies of tne_eval's estimators in the TNE design.

Each study is a runnable script (``python studies/<name>.py --help``) whose
functions are also imported by the slow tests of ``tests/studies/``.
"""
