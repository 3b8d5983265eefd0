"""Tolerances shared by the tests that compare tne_eval with reference numbers.

STYLE 3.9: tolerances are named, with a reason, and the same quantity gets the
same tolerance in every file. Floats are never compared bit for bit across
code paths, BLAS builds or thread counts.
"""

from __future__ import annotations

#: Closed-form estimators (outcome regression, least squares) and their analytic
#: SEs, which are closed-form functions of the same least-squares quantities
#: (std(influence) / sqrt(n)): two implementations differ only by summation
#: order, observed at 1e-14 or less. pyfixest uses 1e-8 against fixest for OLS.
RTOL_CLOSED_FORM = 1e-8
#: Estimators with an iterated nuisance model (logit / IPT propensity scores)
#: and their SEs: the engines stop their solvers at different tolerances.
RTOL_ITERATIVE = 1e-6
