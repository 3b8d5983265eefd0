"""Diagnostics on a prepared panel that estimators call before fitting.

:func:`~tne_eval.data.prepare_panel` rejects data that no estimator can use. The
problems here depend on the estimator (a constant covariate is harmless to a
model without covariates, fatal to a propensity score), so they are reported, not
raised: each helper returns what it found and a note, and the estimator decides
to raise or to add the note to its result.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.linalg

from tne_eval._validation import format_examples as _examples
from tne_eval._validation import plain
from tne_eval.data.prepare import PreparedPanel
from tne_eval.errors import DataError, SpecError

__all__ = ["COLLINEAR_TOL", "CovariateProblems", "covariate_problems", "outcome_note"]

#: Default tolerance of :func:`covariate_problems`: a standardized covariate counts
#: as collinear when the part of it that the earlier ones leave unexplained has a
#: norm below ``tol`` times its own, i.e. the R-squared of its regression on them
#: exceeds ``1 - tol**2``. Exact dependencies leave a few ulps (about 1e-15); 1e-8
#: leaves room for accumulated rounding without flagging genuine covariates.
COLLINEAR_TOL = 1e-8


class CovariateProblems(NamedTuple):
    """Covariates an estimator cannot use as they are.

    Attributes
    ----------
    constant : tuple of str
        Covariates taking one value in every row checked (collinear with the
        intercept).
    collinear : tuple of str
        Non-constant covariates that are (numerically) a linear combination of
        the covariates listed before them in ``spec.covariates`` and the
        intercept. Dropping these columns leaves a full-rank design.
    """

    constant: tuple[str, ...]
    collinear: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """True when no covariate is constant or collinear."""
        return not (self.constant or self.collinear)

    @property
    def note(self) -> str | None:
        """A note naming the problem columns and the fix, or None when all is well."""
        parts = []
        if self.constant:
            parts.append(
                f"covariate(s) {_examples(self.constant, len(self.constant))} are "
                "constant (collinear with the intercept)"
            )
        if self.collinear:
            parts.append(
                f"covariate(s) {_examples(self.collinear, len(self.collinear))} are "
                "linear combinations of the covariates listed before them"
            )
        if not parts:
            return None
        drop = (*self.constant, *self.collinear)
        return (
            "The covariate design is singular: "
            + "; ".join(parts)
            + f". Drop {_examples(drop, len(drop))} from spec.covariates."
        )


def covariate_problems(
    prep: PreparedPanel,
    *,
    rows: np.ndarray | None = None,
    tol: float = COLLINEAR_TOL,
) -> CovariateProblems:
    r"""Find the covariates that are constant or linearly dependent.

    Parameters
    ----------
    prep : PreparedPanel
        Output of :func:`~tne_eval.data.prepare_panel`.
    rows : numpy.ndarray, optional
        Boolean mask or integer positions of the rows of ``prep.data`` to check
        (e.g. the units of one ATT(g,t) cell in their base period). Default: all
        rows.
    tol : float, default COLLINEAR_TOL (1e-8)
        Relative tolerance, see below.

    Returns
    -------
    CovariateProblems
        ``(constant, collinear)`` column names, and a ``note`` for the result.

    Notes
    -----
    Each non-constant covariate is centred and scaled to unit standard deviation,
    and the matrix of these columns, in the order of ``spec.covariates``, is
    reduced by a Householder QR (:func:`scipy.linalg.qr`). The absolute diagonal
    entry :math:`|R_{jj}|` divided by :math:`\sqrt{n}` is the norm of the part of
    column :math:`j` that the intercept and the earlier columns do not explain,
    relative to its own norm; column :math:`j` is collinear when it is below
    ``tol``. The QR is deliberately not pivoted: pivoting would choose which
    member of a dependent set to name by column norm, whereas we name the later
    one in the user's order, so the fix ("drop these") keeps the columns listed
    first. A covariate is constant when its standard deviation is 0 or at most
    ``tol`` times its mean's magnitude (a constant plus rounding noise).

    Examples
    --------
    >>> import pandas as pd
    >>> from tne_eval.data import PanelSpec, prepare_panel
    >>> from tne_eval.data.checks import covariate_problems
    >>> df = pd.DataFrame({"u": [1, 1, 2, 2, 3, 3], "t": [1, 2] * 3,
    ...                    "y": [0.0, 1.0, 0.5, 0.7, 0.2, 0.1],
    ...                    "g": [2, 2, 0, 0, 0, 0], "a": [1.0, 1, 2, 2, 4, 4],
    ...                    "b": [2.0, 2, 4, 4, 8, 8], "c": [5.0] * 6})
    >>> spec = PanelSpec(unit="u", time="t", outcome="y", cohort="g",
    ...                  covariates=("a", "b", "c"))
    >>> covariate_problems(prepare_panel(df, spec))
    CovariateProblems(constant=('c',), collinear=('b',))
    """
    if not isinstance(prep, PreparedPanel):
        raise SpecError(
            "covariate_problems needs the PreparedPanel returned by prepare_panel "
            f"(got {type(prep).__name__})."
        )
    if not (isinstance(tol, float) and 0.0 < tol < 1.0):
        raise SpecError(f"tol must be a float in (0, 1) (got {tol!r}); default 1e-8.")
    names = tuple(prep.spec.covariates)
    if not names:
        return CovariateProblems((), ())
    x = prep.data[list(names)].to_numpy(dtype=float)
    if rows is not None:
        x = x[rows]
    if x.shape[0] == 0:
        raise DataError("covariate_problems got no rows to check (rows is empty).")
    mean = x.mean(axis=0)
    sd = x.std(axis=0)
    is_const = (sd == 0) | (sd <= tol * np.abs(mean))
    constant = tuple(n for n, c in zip(names, is_const) if c)
    keep = np.flatnonzero(~is_const)
    collinear: tuple[str, ...] = ()
    if keep.size > 1:
        z = (x[:, keep] - mean[keep]) / sd[keep]
        r = scipy.linalg.qr(z, mode="r", check_finite=False)[0]
        k = keep.size
        resid = np.abs(np.diag(r[:k, :k])) / np.sqrt(z.shape[0])
        dependent = resid <= tol
        if z.shape[0] < k:  # more columns than rows: the last ones have no R_jj
            dependent = np.r_[dependent, np.ones(k - dependent.size, dtype=bool)]
        collinear = tuple(names[j] for j, d in zip(keep, dependent) if d)
    return CovariateProblems(constant, collinear)


def outcome_note(prep: PreparedPanel) -> str | None:
    """Describe an outcome that cannot move an estimate (None when it can).

    Returns a message when the outcome takes one value in every row (every
    effect is 0 by construction and standard errors are 0 or undefined), or, for
    panels, when it never changes within any unit (unit fixed effects and
    first differences remove all of it). Estimators add the note to their result
    or raise :class:`~tne_eval.errors.IdentificationError` with it.

    Examples
    --------
    >>> import pandas as pd
    >>> from tne_eval.data import PanelSpec, prepare_panel
    >>> from tne_eval.data.checks import outcome_note
    >>> df = pd.DataFrame({"u": [1, 1, 2, 2], "t": [1, 2] * 2, "y": [3.0] * 4,
    ...                    "g": [2, 2, 0, 0]})
    >>> note = outcome_note(prepare_panel(df, PanelSpec(unit="u", time="t",
    ...                                               outcome="y", cohort="g")))
    >>> note[:53]
    "Column 'y' (outcome) is constant: it is 3.0 in all 4 "
    """
    col = prep.spec.outcome
    y = prep.data[col].to_numpy(dtype=float)
    if y.size and (y == y[0]).all():
        return (
            f"Column {col!r} (outcome) is constant: it is {plain(y[0])!r} in all "
            f"{y.size} rows, so every effect is 0 by construction and standard "
            "errors are 0 or undefined. Check that the spec names the right "
            "outcome column."
        )
    if prep.is_panel:
        same_unit = prep.unit_code[1:] == prep.unit_code[:-1]
        if not np.any((y[1:] != y[:-1]) & same_unit):
            return (
                f"Column {col!r} (outcome) never changes within a unit over the "
                f"{len(prep.periods)} periods: differences over time are all 0, so "
                "every DiD effect is 0 and standard errors are 0 or undefined. "
                "Check that the outcome is the time-varying measure."
            )
    return None
