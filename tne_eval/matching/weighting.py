"""Public balancing weights: :func:`weightit` (WeightIt's vocabulary)."""

from __future__ import annotations

from types import MappingProxyType
from typing import Literal

import numpy as np
import pandas as pd

from tne_eval._validation import check_choice, check_dataframe, check_int
from tne_eval.errors import DataError, SpecError
from tne_eval.matching._balance import kish_ess
from tne_eval.matching._frame import CrossSection, check_spec, prepare_cross_section
from tne_eval.matching._propensity import fit_propensity
from tne_eval.matching._weighting import cbps, entropy_balance, ipw_weights
from tne_eval.matching.results import WeightingResult
from tne_eval.matching.spec import CrossSectionSpec
from tne_eval.notes import Note, NoteKind
from tne_eval.results.base import make_provenance

__all__ = ["weightit"]


def _moment_design(cs: CrossSection, moments: int, drop_first: bool):
    x, names = cs.design(drop_first=drop_first)
    if moments == 1:
        return x, names
    cols, out_names = [x], list(names)
    for j, name in enumerate(names):
        col = x[:, j]
        if np.all((col == 0.0) | (col == 1.0)):
            continue  # powers of an indicator are the indicator
        for p in range(2, moments + 1):
            cols.append(col[:, None] ** p)
            out_names.append(f"{name}^{p}")
    return np.column_stack(cols), out_names


def weightit(
    data: pd.DataFrame,
    spec: CrossSectionSpec,
    *,
    method: Literal["ipw", "ebal", "cbps"] = "ipw",
    estimand: Literal["ATT", "ATE"] = "ATT",
    moments: int = 1,
    link: Literal["logit", "probit"] = "logit",
) -> WeightingResult:
    r"""Balancing weights for the ATT or the ATE, as WeightIt's ``weightit()``.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per unit (not modified).
    spec : CrossSectionSpec
        ``treatment`` and ``covariates``.
    method : {"ipw", "ebal", "cbps"}, default "ipw"
        WeightIt's ``method``: ``"ipw"`` = ``"glm"`` (inverse probability
        weights from a logit/probit score), ``"ebal"`` (entropy balancing,
        Hainmueller 2012: exact balance of the chosen moments, weights closest
        to uniform in Kullback-Leibler divergence), ``"cbps"`` (just-identified
        covariate balancing propensity score, Imai & Ratkovic 2014; logit).
    estimand : {"ATT", "ATE"}, default "ATT"
        WeightIt's ``estimand``. ATT: treated weight 1, controls reweighted to
        the treated; ATE: both groups reweighted to the whole sample.
    moments : int, default 1
        WeightIt's ``moments``: powers of the numeric covariates balanced
        (``ebal``) or entering the score model (``ipw``, ``cbps``).
    link : {"logit", "probit"}, default "logit"
        WeightIt's ``link`` for ``method="ipw"``.

    Returns
    -------
    WeightingResult
        ``weights`` (each group's summing to its size), ``score`` (``ipw``,
        ``cbps``), ``ess``, ``summary()``; pass it to :func:`balance` and
        :func:`att`.

    Raises
    ------
    DataError
        Treatment not 0/1; missing covariates.
    IdentificationError
        No overlap (scores at 0 or 1), entropy balancing infeasible (a treated
        moment outside the controls' range or convex hull; the message names
        the moment), CBPS without solution.

    Notes
    -----
    Validated against cobalt 5.0.0's printed ``bal.tab`` of WeightIt's
    ``method = "glm"`` ATT weights on LaLonde (every difference to 4 decimals,
    control ESS 108.2) and of ``ebal::ebalance`` (all differences 0, ESS 98.46)
    in ``tests/matching/test_weighting.py``; the CBPS ATT weights equal the
    entropy-balancing weights on the same covariates (Zhao & Percival 2017),
    which the tests check.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from tne_eval.matching import CrossSectionSpec, weightit
    >>> rng = np.random.default_rng(2)
    >>> x = rng.normal(size=500)
    >>> df = pd.DataFrame({"x": x, "d": (rng.random(500) < 1 / (1 + np.exp(-x))).astype(int)})
    >>> w = weightit(df, CrossSectionSpec(outcome=None, treatment="d", covariates=("x",)),
    ...              method="ebal")
    >>> t = df["d"] == 1
    >>> bool(abs(np.average(df.x[~t], weights=w.weights[~t]) - df.x[t].mean()) < 1e-8)
    True
    """
    check_dataframe(data)
    check_spec(spec)
    check_choice(method, "method", ("ipw", "ebal", "cbps"))
    check_choice(estimand, "estimand", ("ATT", "ATE"))
    check_choice(link, "link", ("logit", "probit"))
    moments = check_int(moments, "moments", minimum=1)
    if link != "logit" and method != "ipw":
        raise SpecError(f"link={link!r} applies to method='ipw' only.")
    if spec.weights is not None and method == "cbps":
        raise SpecError(
            f"weightit(method='cbps') does not take sampling weights (spec.weights="
            f"{spec.weights!r}); use method='ebal', whose ATT weights equal the "
            "just-identified CBPS ones, or method='ipw'."
        )
    cs = prepare_cross_section(data, spec)
    d = cs.treated
    s_w = cs.sampling_weights()
    notes: list[Note] = []
    score = None
    if s_w is not None:
        notes.append(
            Note(
                f"Sampling weights spec.weights={spec.weights!r} weight the score "
                "model (ipw) or are the base weights and weight the targets (ebal), "
                "as WeightIt's s.weights; they are not included in `weights` but "
                "in `analysis_weights`, which balance and effects use.",
                NoteKind.ESTIMATION,
            )
        )
    if method == "ipw":
        x, names = _moment_design(cs, moments, drop_first=True)
        fit = fit_propensity(d, x, link=link, weights=s_w, columns=names)
        score = fit.score
        w = ipw_weights(d, score, estimand=estimand)
    elif method == "cbps":
        x, names = _moment_design(cs, moments, drop_first=True)
        res = cbps(d, x, estimand=estimand, columns=names)
        score, w = res.score, res.weights
    else:
        c, names = _moment_design(cs, moments, drop_first=False)
        if s_w is not None and np.any(s_w == 0):
            raise DataError(
                f"spec.weights={spec.weights!r} has {int((s_w == 0).sum())} zero "
                "sampling weights: entropy balancing needs positive base weights. "
                "Drop those rows first (they carry no weight)."
            )
        sw = np.ones(cs.n) if s_w is None else s_w
        if estimand == "ATT":
            target = np.average(c[d], axis=0, weights=sw[d])
            eb = entropy_balance(d, c, base_weights=sw, target=target, columns=names)
            w = eb.weights
        else:
            target = np.average(c, axis=0, weights=sw)
            to_c = entropy_balance(d, c, base_weights=sw, target=target, columns=names)
            to_t = entropy_balance(~d, c, base_weights=sw, target=target, columns=names)
            w = np.where(d, to_t.weights, to_c.weights)
        if s_w is not None:  # the solution includes the base weights: take them out
            groups = (~d,) if estimand == "ATT" else (d, ~d)
            for grp in groups:
                w[grp] = w[grp] / sw[grp]
                w[grp] *= np.count_nonzero(grp) / w[grp].sum()
        dropped = [
            n
            for n, k in zip(names, eb.kept if estimand == "ATT" else to_c.kept)
            if not k
        ]
        if dropped:
            notes.append(
                Note(
                    f"Entropy balancing: moments {dropped} are linear combinations of "
                    "the others (e.g. all levels of a factor); balanced through them.",
                    NoteKind.ESTIMATION,
                )
            )
    ess_c = kish_ess(w[~d] if s_w is None else w[~d] * s_w[~d])
    notes.append(
        Note(
            f"Effective sample size of the weighted controls: {ess_c:.1f} of "
            f"{int((~d).sum())} (Kish).",
            NoteKind.DIAGNOSTIC,
        )
    )
    return WeightingResult(
        weights=pd.Series(w, index=cs.index, name="weights"),
        treated=pd.Series(d, index=cs.index, name="treated"),
        score=None if score is None else pd.Series(score, index=cs.index, name="score"),
        method=method,
        estimand=estimand,
        spec=spec,
        options=MappingProxyType(
            {"method": method, "estimand": estimand, "moments": moments, "link": link}
        ),
        notes=tuple(notes),
        provenance=make_provenance(cs.fingerprint),
        sampling_weights=None
        if s_w is None
        else pd.Series(s_w, index=cs.index, name="s_weights"),
    )
