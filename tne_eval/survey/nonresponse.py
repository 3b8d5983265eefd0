r"""Weights for unit non-response and calibration to known margins.

* :func:`nonresponse_weights`: the respondents' weights are divided by their
  (weighted) response propensity, estimated within weighting classes
  (``cells``), by a survey-weighted logit (``covariates``), or by classes of
  the logit propensity (``covariates`` and ``classes``), with collapsing of
  classes without enough respondents and trimming of extreme weights.
* :func:`rake`: iterative proportional fitting of the weights to known
  population margins (raking ratio estimation, Deming & Stephan 1940).

Both return an :class:`AdjustedWeights` (the weights, a table by class or
margin, and notes). The caller's DataFrame is never modified: add the weights
as a column of a copy (``data.assign(w=adj.weights)``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tne_eval._validation import (
    check_columns_exist,
    check_dataframe,
    check_int,
    format_examples,
)
from tne_eval.errors import (
    DataError,
    EmptyWeightingClassError,
    IdentificationError,
    SpecError,
    TneEvalTypeError,
)
from tne_eval.notes import Note, NoteKind

__all__ = ["AdjustedWeights", "nonresponse_weights", "rake"]


@dataclass(frozen=True, eq=False)
class AdjustedWeights:
    """Adjusted weights with what was done to obtain them.

    Attributes
    ----------
    weights : pandas.Series
        New weight of each row of the data (same index); 0 for non-respondents.
    table : pandas.DataFrame
        By weighting class: ``n_respondents, n_nonrespondents, weight_all,
        weight_respondents, response_rate, factor``; by margin and level for
        :func:`rake`: ``target, initial, final``.
    method : str
        ``"cells"``, ``"logit"``, ``"logit_classes"`` or ``"raking"``.
    notes : tuple of Note
        Classes collapsed, weights trimmed, iterations, rows without weight.
    """

    weights: pd.Series
    table: pd.DataFrame
    method: str
    notes: tuple[Note, ...] = ()

    def __repr__(self) -> str:
        pos = self.weights[self.weights > 0]
        return (
            f"<AdjustedWeights: {self.method}, {pos.size} positive weights, sum "
            f"{self.weights.sum():.6g}, max/median {pos.max() / pos.median():.3g}>"
        )


def _base_weights(data: pd.DataFrame, weights: str | None) -> np.ndarray:
    if weights is None:
        return np.ones(len(data))
    w = pd.to_numeric(data[weights], errors="coerce").to_numpy(dtype=float)
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise DataError(
            f"weights={weights!r} has missing, infinite or negative values; base "
            "weights must be finite and >= 0."
        )
    return w


def _responded(data: pd.DataFrame, responded: str) -> np.ndarray:
    r = data[responded]
    if r.isna().any():
        raise DataError(
            f"responded={responded!r} is missing in {int(r.isna().sum())} rows; it "
            "must say for every sampled row whether it responded."
        )
    if r.dtype != bool:
        values = set(pd.unique(r))
        if not values <= {0, 1}:
            raise TneEvalTypeError(
                f"responded={responded!r} must be boolean or 0/1 (got values "
                f"{format_examples(sorted(values, key=str))})."
            )
    return r.to_numpy().astype(bool)


def _class_table(
    labels: pd.Series, resp: np.ndarray, w: np.ndarray, name: str
) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "cls": labels.to_numpy(),
            "r": resp.astype(int),
            "nr": (~resp).astype(int),
            "w": w,
            "wr": w * resp,
        }
    )
    g = frame.groupby("cls", sort=True)
    out = pd.DataFrame(
        {
            "n_respondents": g["r"].sum(),
            "n_nonrespondents": g["nr"].sum(),
            "weight_all": g["w"].sum(),
            "weight_respondents": g["wr"].sum(),
        }
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        out["response_rate"] = out["weight_respondents"] / out["weight_all"]
        out["factor"] = 1.0 / out["response_rate"]
    out.index.name = name
    return out


def _cell_labels(data: pd.DataFrame, cells: list[str], depth: np.ndarray) -> pd.Series:
    """Label of each row's class using its first ``depth`` cell columns."""
    parts = [data[c].astype(str).to_numpy(dtype=object) for c in cells]
    out = np.empty(len(data), dtype=object)
    for d in np.unique(depth):
        rows = depth == d
        label = parts[0][rows] if d > 0 else np.full(rows.sum(), "*", dtype=object)
        for j in range(1, len(cells)):
            piece = parts[j][rows] if j < d else np.full(rows.sum(), "*", dtype=object)
            label = label + " | " + piece
        out[rows] = label
    return pd.Series(out, index=data.index)


def _collapse(
    data: pd.DataFrame,
    cells: list[str],
    resp: np.ndarray,
    w: np.ndarray,
    min_respondents: int,
    collapse: bool,
) -> tuple[pd.Series, list[Note]]:
    depth = np.full(len(data), len(cells))
    notes: list[Note] = []
    while True:
        labels = _cell_labels(data, cells, depth)
        table = _class_table(labels, resp, w, "class")
        short = table.index[table["n_respondents"] < min_respondents]
        if short.empty:
            return labels, notes
        if not collapse or depth[labels.isin(short).to_numpy()].min() == 0:
            worst = table.loc[short].sort_values("n_respondents").iloc[0]
            cls = table.loc[short].sort_values("n_respondents").index[0]
            raise EmptyWeightingClassError(
                f"Weighting class {cls!r} of cells={cells} has "
                f"{int(worst['n_respondents'])} respondent(s) and "
                f"{int(worst['n_nonrespondents'])} non-respondent(s) (minimum "
                f"{min_respondents}; {len(short)} such class(es)): its weight "
                "cannot be carried by its respondents. Collapse it with a "
                "neighbouring class: pass coarser or fewer cells, or collapse=True "
                "(merges it with its sibling classes, those sharing its leading cell "
                "columns, into their parent class)."
            )
        rows = labels.isin(short).to_numpy()
        parents = _cell_labels(data, cells, np.maximum(depth - 1, 0))
        failing = set(parents[rows])
        merge = parents.isin(failing).to_numpy() & (depth > 0)
        depth[merge] -= 1
        notes.append(
            Note(
                f"Collapsed {len(short)} weighting class(es) with fewer than "
                f"{min_respondents} respondent(s) ({format_examples(list(short))}) "
                f"with their sibling classes into {format_examples(sorted(failing))}.",
                NoteKind.ESTIMATION,
            )
        )


def _trim(
    adjusted: np.ndarray, resp: np.ndarray, ratio: float
) -> tuple[np.ndarray, Note | None]:
    """Cap weights at ``ratio`` x median, spreading the excess over the others."""
    w = adjusted.copy()
    pos = resp & (w > 0)
    cap = ratio * float(np.median(w[pos]))
    total = w[pos].sum()
    capped = np.zeros_like(pos)
    for _ in range(100):
        over = pos & ~capped & (w > cap * (1 + 1e-12))
        if not over.any():
            break
        capped |= over
        w[capped] = cap
        free = pos & ~capped
        if not free.any():
            break
        w[free] *= (total - cap * capped.sum()) / w[free].sum()
    n = int(capped.sum())
    if n == 0:
        return w, None
    return w, Note(
        f"Trimmed {n} weight(s) above {ratio:g} x the median respondent weight "
        f"(cap {cap:.4g}); the excess was spread over the other respondents, so "
        "the total weight is unchanged.",
        NoteKind.ESTIMATION,
    )


def nonresponse_weights(
    data: pd.DataFrame,
    responded: str,
    *,
    weights: str | None = None,
    cells: Sequence[str] | None = None,
    covariates: Sequence[str] | None = None,
    classes: int | None = None,
    min_respondents: int = 1,
    collapse: bool = False,
    max_weight_ratio: float | None = None,
) -> AdjustedWeights:
    r"""Adjust sampling weights for unit non-response.

    Parameters
    ----------
    data : pandas.DataFrame
        Every sampled row, respondents and non-respondents. Not modified.
    responded : str
        Boolean (or 0/1) column: did the row respond?
    weights : str, optional
        Base (design) weights; ``None``: equal weights.
    cells : sequence of str, optional
        Weighting-class columns (e.g. ``("department", "level")``): within each
        class, respondents' weights are divided by the class's weighted response
        rate, so each class keeps its total weight.
    covariates : sequence of str, optional
        Numeric covariates of a survey-weighted logit of response (statsmodels
        GLM, binomial, base weights as frequency weights); respondents' weights
        are divided by their estimated propensity. Give ``cells`` or
        ``covariates``, not both.
    classes : int, optional
        With ``covariates``: form this many classes of the estimated propensity
        (weighted quantiles) and adjust within them as with ``cells`` (response
        propensity stratification; more robust to a misspecified logit).
    min_respondents : int, default 1
        Minimum respondents per class.
    collapse : bool, default False
        Merge each class with fewer than ``min_respondents`` respondents with its
        sibling classes (those sharing all but its last cell column) into their
        parent class, repeatedly, up to the class of all rows; otherwise raise.
    max_weight_ratio : float, optional
        Trim adjusted weights above this multiple of the median respondent
        weight, spreading the excess over the others (total kept).

    Returns
    -------
    AdjustedWeights
        ``weights`` (0 for non-respondents), ``table`` by class (respondents,
        non-respondents, weighted response rate, factor), notes.

    Raises
    ------
    EmptyWeightingClassError
        A class has fewer than ``min_respondents`` respondents and cannot be
        collapsed; the message names the class and the fix.
    SpecError, DataError, TneEvalTypeError
        Bad arguments or columns.

    Notes
    -----
    Weighting-class adjustment: for respondent :math:`i` of class :math:`c`,
    :math:`w_i^{nr} = w_i \sum_{j\in c} w_j / \sum_{j\in c, r_j=1} w_j`. It
    removes non-response bias when response is independent of the outcome
    within classes (missing at random given the classes); the logit version
    assumes it given the covariates.

    References
    ----------
    Little, R. J. A. (1986). Survey nonresponse adjustments for estimates of
    means. International Statistical Review, 54(2), 139-157.
    https://doi.org/10.2307/1403140

    Examples
    --------
    >>> import tne_eval as tne
    >>> from tne_eval.datasets import load_synthetic
    >>> teachers = load_synthetic("teachers")
    >>> adj = tne.nonresponse_weights(teachers, "responded", weights="design_weight",
    ...                               cells=("wave", "level", "rural"))
    >>> bool(abs(adj.weights.sum() - teachers["design_weight"].sum()) < 1e-6)
    True
    >>> int(adj.table["n_respondents"].min()) > 0
    True
    """
    check_dataframe(data)
    if (cells is None) == (covariates is None):
        raise SpecError(
            "nonresponse_weights needs weighting classes (cells=...) or response "
            "covariates (covariates=...), not both and not neither."
        )
    for name, cols in (("cells", cells), ("covariates", covariates)):
        if isinstance(cols, str):
            raise TneEvalTypeError(
                f"{name} must be a sequence of column names, not the string "
                f"{cols!r}; write {name}=({cols!r},)."
            )
    if classes is not None and covariates is None:
        raise SpecError("classes= groups the logit propensity: give covariates too.")
    min_respondents = check_int(min_respondents, "min_respondents", minimum=1)
    if max_weight_ratio is not None and not (
        isinstance(max_weight_ratio, (int, float)) and max_weight_ratio > 1
    ):
        raise SpecError(
            f"max_weight_ratio must be a number above 1 (got {max_weight_ratio!r})."
        )
    used_cols = [
        responded,
        *([weights] if weights else []),
        *(cells or ()),
        *(covariates or ()),
    ]
    check_columns_exist(data, used_cols, role="nonresponse_weights")
    resp = _responded(data, responded)
    w = _base_weights(data, weights)
    notes: list[Note] = []
    if cells is not None:
        cells = list(cells)
        for c in cells:
            if data[c].isna().any():
                raise DataError(
                    f"Weighting-class column {c!r} is missing in "
                    f"{int(data[c].isna().sum())} rows; fill it (e.g. an 'unknown' "
                    "class) first."
                )
        labels, notes = _collapse(data, cells, resp, w, min_respondents, collapse)
        table = _class_table(labels, resp, w, "class")
        factor = table["factor"].reindex(labels.to_numpy()).to_numpy()
        adjusted = np.where(resp, w * factor, 0.0)
        method = "cells"
    else:
        import statsmodels.api as sm

        covariates = list(covariates)
        x = data[covariates].apply(pd.to_numeric, errors="coerce").to_numpy(float)
        if not np.all(np.isfinite(x)):
            raise DataError(
                f"Response covariates {covariates} have missing values; the "
                "propensity needs them for every sampled row (respondent or not)."
            )
        design = sm.add_constant(x, has_constant="add")
        fit = sm.GLM(
            resp.astype(float), design, family=sm.families.Binomial(), freq_weights=w
        ).fit()
        p = np.asarray(fit.predict(design))
        if classes is None:
            adjusted = np.where(resp, w / p, 0.0)
            terms = ["const", *covariates]
            table = pd.DataFrame(
                {
                    "coefficient": np.asarray(fit.params),
                    "std_error_model": np.asarray(fit.bse),
                },
                index=pd.Index(terms, name="term"),
            )
            method = "logit"
            notes.append(
                Note(
                    f"Response propensity from a survey-weighted logit on "
                    f"{covariates}: range {p.min():.3g}-{p.max():.3g}; respondents' "
                    "weights divided by it.",
                    NoteKind.ESTIMATION,
                )
            )
        else:
            k = check_int(classes, "classes", minimum=2)
            order = np.argsort(p, kind="stable")
            cum = np.cumsum(w[order]) / w.sum()
            cls = np.empty(len(p), dtype=np.int64)
            cls[order] = np.minimum((cum * k - 1e-12).astype(np.int64), k - 1)
            labels = pd.Series([f"q{c + 1}" for c in cls], index=data.index)
            table = _class_table(labels, resp, w, "class")
            short = table.index[table["n_respondents"] < min_respondents]
            if not short.empty:
                raise EmptyWeightingClassError(
                    f"Propensity class(es) {format_examples(list(short))} have fewer "
                    f"than {min_respondents} respondent(s). Use fewer classes."
                )
            factor = table["factor"].reindex(labels.to_numpy()).to_numpy()
            adjusted = np.where(resp, w * factor, 0.0)
            method = "logit_classes"
            notes.append(
                Note(
                    f"Response propensity classes: {k} weighted quantile classes of "
                    f"a survey-weighted logit on {covariates}.",
                    NoteKind.ESTIMATION,
                )
            )
    notes.append(
        Note(
            f"{int(resp.sum())} respondents and {int((~resp).sum())} non-respondents "
            "(weight 0).",
            NoteKind.DATA,
        )
    )
    if max_weight_ratio is not None:
        adjusted, note = _trim(adjusted, resp, float(max_weight_ratio))
        if note is not None:
            notes.append(note)
    return AdjustedWeights(
        weights=pd.Series(adjusted, index=data.index, name="nonresponse_weight"),
        table=table,
        method=method,
        notes=tuple(notes),
    )


def rake(
    data: pd.DataFrame,
    margins: Mapping[str, Mapping[object, float]],
    *,
    weights: str | pd.Series | None = None,
    max_iter: int = 100,
    tol: float = 1e-10,
) -> AdjustedWeights:
    r"""Rake weights to known population margins (iterative proportional fitting).

    Parameters
    ----------
    data : pandas.DataFrame
        Rows to weight (respondents, or every row with zero weight for
        non-respondents). Not modified.
    margins : mapping
        ``{column: {level: population total}}`` for each raking variable. Every
        level present among positively weighted rows needs a total, and the
        margins must share one grand total.
    weights : str or pandas.Series, optional
        Starting weights: a column, a Series aligned with ``data`` (e.g.
        ``nonresponse_weights(...).weights``), or ``None`` for equal weights.
    max_iter : int, default 100
        Passes over the margins.
    tol : float, default 1e-10
        Stop when every margin is met within this relative error.

    Returns
    -------
    AdjustedWeights
        Raked ``weights`` and a ``table`` indexed by (margin, level) with
        ``target, initial, final`` totals.

    Raises
    ------
    SpecError
        A level without a target, margins with different grand totals.
    DataError
        A target level with no positively weighted row; no convergence.

    Notes
    -----
    Each pass multiplies the weights of every level of each margin in turn by
    target / current total. The limit is the calibration estimator with the
    multiplicative (raking) distance (Deville & Särndal 1992).

    References
    ----------
    Deming, W. E. & Stephan, F. F. (1940). On a least squares adjustment of a
    sampled frequency table when the expected marginal totals are known. Annals
    of Mathematical Statistics, 11(4), 427-444.
    https://doi.org/10.1214/aoms/1177731829

    Deville, J.-C. & Särndal, C.-E. (1992). Calibration estimators in survey
    sampling. JASA, 87(418), 376-382. https://doi.org/10.1080/01621459.1992.10475217

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"sex": ["f", "f", "m", "m"], "age": ["y", "o", "y", "o"]})
    >>> adj = rake(d, {"sex": {"f": 60, "m": 40}, "age": {"y": 50, "o": 50}})
    >>> adj.weights.round(6).tolist()
    [30.0, 30.0, 20.0, 20.0]
    """
    check_dataframe(data)
    if not isinstance(margins, Mapping) or not margins:
        raise TneEvalTypeError(
            "margins must be a non-empty mapping {column: {level: total}}."
        )
    check_columns_exist(data, list(margins), role="rake margins")
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    if isinstance(weights, pd.Series):
        if not weights.index.equals(data.index):
            raise DataError("weights (a Series) must have the same index as data.")
        w0 = weights.to_numpy(dtype=float)
    else:
        w0 = _base_weights(data, weights)
    w = w0.copy()
    grand = {col: float(sum(levels.values())) for col, levels in margins.items()}
    totals = np.array(list(grand.values()))
    if np.ptp(totals) > 1e-8 * np.abs(totals).max():
        raise SpecError(
            f"The margins have different grand totals ({grand}); raking needs one "
            "population total shared by every margin."
        )
    codes: dict[str, tuple[np.ndarray, np.ndarray, list[object]]] = {}
    pos = w > 0
    for col, levels in margins.items():
        values = data[col].to_numpy()
        keys = list(levels)
        present = pd.unique(values[pos])
        unknown = [v for v in present if v not in levels]
        if unknown:
            raise SpecError(
                f"Margin {col!r} has no target for level(s) "
                f"{format_examples(unknown)} present in the data; give every "
                "level a population total."
            )
        index = {k: i for i, k in enumerate(keys)}
        code = np.array([index.get(v, -1) for v in values])
        target = np.array([float(levels[k]) for k in keys])
        have = np.bincount(code[pos & (code >= 0)], minlength=len(keys))
        empty = [keys[i] for i in np.flatnonzero((have == 0) & (target > 0))]
        if empty:
            raise DataError(
                f"Margin {col!r}: level(s) {format_examples(empty)} have a positive "
                "target but no weighted row; collapse them with another level."
            )
        codes[col] = (code, target, keys)
    initial = {
        col: np.bincount(c[c >= 0], weights=w[c >= 0], minlength=len(k))
        for col, (c, _, k) in codes.items()
    }
    converged = False
    passes = 0
    for passes in range(1, max_iter + 1):  # noqa: B007  (reported after the loop)
        for code, target, keys in codes.values():
            ok = code >= 0
            current = np.bincount(code[ok], weights=w[ok], minlength=len(keys))
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(current > 0, target / current, 1.0)
            w[ok] *= ratio[code[ok]]
        gap = max(
            float(
                np.max(
                    np.abs(
                        np.bincount(c[c >= 0], weights=w[c >= 0], minlength=len(k)) - t
                    )
                    / np.maximum(np.abs(t), 1e-300)
                )
            )
            for c, t, k in codes.values()
        )
        if gap <= tol:
            converged = True
            break
    if not converged:
        raise IdentificationError(
            f"Raking did not converge in {max_iter} passes (largest relative margin "
            f"error {gap:.3g}); the margins may be incompatible with the sample's "
            "empty cells. Collapse levels, or raise max_iter."
        )
    rows = []
    for col, (code, target, keys) in codes.items():
        final = np.bincount(code[code >= 0], weights=w[code >= 0], minlength=len(keys))
        for i, k in enumerate(keys):
            rows.append((col, k, target[i], initial[col][i], final[i]))
    table = pd.DataFrame(
        rows, columns=["margin", "level", "target", "initial", "final"]
    )
    table = table.set_index(["margin", "level"])
    note = Note(
        f"Raked to {len(margins)} margin(s) ({', '.join(margins)}) in {passes} "
        f"pass(es); largest relative margin error {gap:.2g}.",
        NoteKind.ESTIMATION,
    )
    return AdjustedWeights(
        weights=pd.Series(w, index=data.index, name="raked_weight"),
        table=table,
        method="raking",
        notes=(note,),
    )
