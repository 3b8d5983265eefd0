r"""Which inference to trust, by the number of treated clusters behind an estimate.

Two counts describe how much information an estimate's uncertainty rests on:

* :func:`treated_clusters`: the distinct clusters (departments) among the
  treated units whose influence function enters the estimate. In TNE: 12 for
  the simple ATT and the event times 0..3, 10 for the 2021 cohort's cells, 2
  for anything that rests on the 2020 cohort alone (its cells, and the event
  time 4 of the dynamic aggregation);
* :func:`effective_clusters`: the effective number of clusters :math:`G^*` of
  Carter, Schnepel & Steigerwald (2017), which also counts how unequal the
  clusters' contributions to the variance are.

:data:`RECOMMENDATIONS` maps the first count to the inference that the
TNE-design Monte Carlo study (``studies/inference_tne.py``, results in
``studies/results/inference_tne.md``; explanation page *Few treated clusters*)
showed to hold its level, or records that no method did.
:func:`recommendation_note` writes the note that ``att_gt`` and ``aggregate``
results carry.

Every method of the study's headline run went through the registry
(``result.with_inference(spec)``, the decomposition of
:mod:`tne_eval.inference.group_means`), as users call it; an earlier run
through array-level functions with cohort-level leverages is kept in
``studies/results/inference_tne_array.md``. Through the registry
``ConleyTaber`` and ``FermanPinto`` give no interval for estimates pooling
cohorts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import sparse

from tne_eval.errors import SpecError
from tne_eval.inference._arrays import as_float_matrix
from tne_eval.notes import Note, NoteKind

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "BAND_RECOMMENDATION",
    "MIN_EFFECTIVE",
    "PRETREND_RECOMMENDATION",
    "PRETREND_TEST",
    "RECOMMENDATIONS",
    "STUDY",
    "Recommendation",
    "effective_clusters",
    "recommend",
    "recommendation_note",
    "recommended_spec",
    "treated_clusters",
    "with_recommended_inference",
]

#: Where the evidence is.
STUDY = "studies/inference_tne.py, results in studies/results/inference_tne.md"


#: Below this effective number of clusters an estimate resting on many treated
#: clusters is treated as leaning on a small cohort (the dynamic overall effect,
#: whose e = 4 term rests on the two 2020 departments, has G* of about 6; the
#: simple ATT and e = 0..3 about 12 to 14; the 2021 cohort's cells 10 to 13).
MIN_EFFECTIVE = 8.0


@dataclass(frozen=True)
class Recommendation:
    """The inference to use for one class of estimates.

    Attributes
    ----------
    name : str
        Short name of the class.
    min_treated, max_treated : int
        Inclusive range of :func:`treated_clusters` (``max_treated`` ``None``:
        no upper bound).
    min_effective, max_effective : float
        Half-open range ``[min, max)`` of :func:`effective_clusters`.
    inference : str or None
        The choice to pass to ``result.with_inference`` (as code), or ``None``
        when the study showed no method valid for such estimates.
    study_method : str or None
        The label of that method in ``studies/inference_tne.py``.
    evidence : str
        What the study measured (null-world size, coverage, width).
    advice : str
        What to report.
    """

    name: str
    min_treated: int
    max_treated: int | None
    min_effective: float
    max_effective: float
    inference: str | None
    study_method: str | None
    evidence: str
    advice: str

    def covers(self, n_treated: int, effective: float = np.inf) -> bool:
        """Whether an estimate with these counts belongs to this class."""
        upper = np.inf if self.max_treated is None else self.max_treated
        return (
            self.min_treated <= n_treated <= upper
            and self.min_effective <= effective
            and (effective < self.max_effective or np.isinf(self.max_effective))
        )

    @property
    def shown_valid(self) -> bool:
        """Whether some method was shown to hold its level for this class."""
        return self.inference is not None


#: The decision table (TNE-design Monte Carlo; the full tables are on the
#: explanation page *Few treated clusters*). Sizes are null-world rejection
#: rates at 5 %, coverages those of 95 % intervals under the default effects,
#: widths the median interval width over 2 x 1.96 x the Monte Carlo SD.
RECOMMENDATIONS: tuple[Recommendation, ...] = (
    Recommendation(
        name="two treated clusters",
        min_treated=1,
        max_treated=2,
        min_effective=0.0,
        max_effective=np.inf,
        inference="ConleyTaber() or FermanPinto()",
        study_method="ferman_pinto",
        evidence="e = 4: coverage 0.971, null-world size 0.030, "
        "interval 1.33 x the sampling spread (Conley-Taber 0.983, 0.017, 1.47 x); "
        "Cluster() covers 0.628",
        advice="report the Conley-Taber / Ferman-Pinto interval (wide: it "
        "estimates two departments' shocks from the 89 comparison departments); "
        "never a Cluster() or multiplier-bootstrap interval as 95%",
    ),
    Recommendation(
        name="many treated clusters, one small cohort carrying weight",
        min_treated=3,
        max_treated=None,
        min_effective=0.0,
        max_effective=MIN_EFFECTIVE,
        inference="CR2()",
        study_method="cr2",
        evidence="dynamic overall: CR2() (Satterthwaite df) covers 0.954, "
        "null-world size 0.049, interval 1.07 x the sampling spread; "
        "WildBootstrap() 0.945, 0.060; CR3() 0.937, 0.069; Cluster() 0.875, 0.133 "
        "(coverage, size)",
        advice="report the CR2() interval; Cluster() and the multiplier "
        "bootstrap under-cover (0.875 and 0.882) because the 2 departments of "
        "the small cohort weigh in the estimate",
    ),
    Recommendation(
        name="3 to 9 treated clusters",
        min_treated=3,
        max_treated=9,
        min_effective=MIN_EFFECTIVE,
        max_effective=np.inf,
        inference=None,
        study_method=None,
        evidence="not studied: no TNE estimand rests on 3 to 9 treated "
        "departments with G* of 8 or more",
        advice="read the interval as approximate; CR2() (Satterthwaite) and "
        "CR3() were conservative for every TNE estimand",
    ),
    Recommendation(
        name="10 or more treated clusters",
        min_treated=10,
        max_treated=None,
        min_effective=MIN_EFFECTIVE,
        max_effective=np.inf,
        inference="WildBootstrap(impose_null=False)",
        study_method="wild_u",
        evidence="simple ATT and e = 0..3: size 0.034-0.056, coverage 0.945-0.968",
        advice="Cluster() and the multiplier bootstrap over-reject slightly "
        "(null-world size 0.054-0.078 and 0.051-0.073)",
    ),
)

#: The pre-trend test to read: (scope, kind, method) of a row of
#: :func:`tne_eval.did.pre_trend_tests`.
PRETREND_TEST: tuple[str, str, str] = ("all", "average", "htz")

#: Pre-trend tests: what the study found, and which to read.
PRETREND_RECOMMENDATION = (
    "read the all-cohorts average HTZ test of pre_trend_tests(gt) (size "
    "0.037); the pooled Wald test of gt.pretest rejects a true null in "
    "0.907"
)

#: Simultaneous (sup-t) bands of the event study.
BAND_RECOMMENDATION = (
    "No method gave a valid sup-t band for the event study (the multiplier "
    "bootstrap's band covers e = 0..4 jointly in 0.657): read the band as "
    "descriptive and the pointwise intervals as above."
)


def recommend(
    n_treated_clusters: int, effective_clusters: float | None = None
) -> Recommendation:
    """Return the recommendation for an estimate's treated and effective clusters.

    Parameters
    ----------
    n_treated_clusters : int
        Treated clusters behind the estimate (:func:`treated_clusters`), at least 1.
    effective_clusters : float, optional
        Its :func:`effective_clusters` (default: not below :data:`MIN_EFFECTIVE`).

    Returns
    -------
    Recommendation

    Raises
    ------
    SpecError
        Fewer than one treated cluster (no treated unit enters the estimate).

    Examples
    --------
    >>> from tne_eval.inference.recommend import recommend
    >>> recommend(2).name
    'two treated clusters'
    >>> recommend(12, effective_clusters=6.0).name
    'many treated clusters, one small cohort carrying weight'
    """
    if isinstance(n_treated_clusters, bool) or not isinstance(
        n_treated_clusters, (int, np.integer)
    ):
        raise SpecError(
            f"n_treated_clusters must be an integer (got {n_treated_clusters!r})."
        )
    eff = np.inf if effective_clusters is None else float(effective_clusters)
    if np.isnan(eff):
        eff = np.inf
    for rec in RECOMMENDATIONS:
        if rec.covers(int(n_treated_clusters), eff):
            return rec
    raise SpecError(
        f"n_treated_clusters must be at least 1 (got {n_treated_clusters}): an "
        "estimate with no treated unit has no treatment effect to infer."
    )


def _indicator(codes: np.ndarray, n_clusters: int) -> sparse.csr_array:
    return sparse.csr_array(
        (np.ones(codes.size), (codes, np.arange(codes.size))),
        shape=(n_clusters, codes.size),
    )


def _dense(values: object) -> np.ndarray:
    return values.toarray() if sparse.issparse(values) else np.asarray(values)


def _codes(cluster: object, n: int) -> tuple[np.ndarray, int]:
    if cluster is None:
        return np.arange(n), n
    codes = np.asarray(cluster)
    if codes.shape != (n,) or not np.issubdtype(codes.dtype, np.integer):
        raise SpecError(
            f"cluster must hold one integer code per row ({n}; got shape "
            f"{codes.shape}, dtype {codes.dtype})."
        )
    if n and codes.min() < 0:
        raise SpecError("cluster codes must be non-negative integers 0..G-1.")
    return codes, int(codes.max()) + 1 if n else 0


def _as_psi(psi: object) -> np.ndarray | sparse.sparray:
    if sparse.issparse(psi):
        return sparse.csc_array(psi)
    return as_float_matrix(psi, "psi")


def effective_clusters(psi: object, cluster: object = None) -> np.ndarray:
    r"""Effective number of clusters :math:`G^*` of each estimate (Carter et al. 2017).

    Parameters
    ----------
    psi : ndarray or scipy sparse array, shape (n, k)
        Influence functions of ``k`` estimates,
        :math:`\hat\theta - \theta \approx \frac1n\sum_i\psi_i`.
    cluster : ndarray of int, shape (n,), optional
        Cluster codes ``0..G-1`` (default: every row its own cluster).

    Returns
    -------
    ndarray, shape (k,)
        :math:`G^*` of each estimate; NaN where the influence function is zero.

    Notes
    -----
    Carter, Schnepel & Steigerwald (2017, Theorem 2 and eq. 8) show that the
    cluster-robust t-test behaves as if there were

    .. math::

        G^* = \frac{G}{1 + \Gamma}, \qquad
        \Gamma = \frac1G\sum_{g=1}^G \frac{(\gamma_g - \bar\gamma)^2}{\bar\gamma^2},

    clusters, where :math:`\gamma_g` is cluster :math:`g`'s contribution to the
    variance of the estimate, :math:`\gamma_g = a'(X'X)^{-1}X_g'\Omega_g X_g
    (X'X)^{-1}a` for a regression coefficient :math:`a'\beta`. Substituting
    :math:`\bar\gamma = \frac1G\sum_g\gamma_g` gives the equivalent form
    :math:`G^* = (\sum_g\gamma_g)^2 / \sum_g\gamma_g^2`, the one computed here:
    :math:`G^* = G` when every cluster contributes equally and :math:`G^* \to
    m` when :math:`m` clusters carry all the variance.

    *Influence-function case.* For an estimator with influence function
    :math:`\psi`, the regression's :math:`a'(X'X)^{-1}x_i e_i` is
    :math:`\psi_i / n`. :math:`\Omega_g` is unknown; as in their
    :math:`G^*(0)` (no within-cluster correlation) each unit's variance is
    estimated by its squared influence function, so

    .. math::

        \gamma_g = \sum_{i \in g} \psi_i^2 .

    This keeps what drives :math:`G^*` in staggered DiD, the weight of each
    cluster in the estimate (a treated department of a two-department cohort
    carries about half of its cohort's weight, a control department about
    1/89th of the comparison's), and avoids the noise of the squared cluster
    sums :math:`(\sum_{i\in g}\psi_i)^2`, whose dispersion alone would make
    :math:`G^*` about :math:`G/3` for identical normal clusters. With positive
    within-cluster correlation the treated clusters' contributions grow faster
    than the controls', so the true :math:`G^*` is lower still. The TNE-design
    study (``studies/inference_tne.py``) finds :math:`G^* \approx 2` for the
    event time 4 (2020 cohort alone) and about 10 to 15 for the simple ATT.

    References
    ----------
    Carter, A. V., Schnepel, K. T. and Steigerwald, D. G. (2017). Asymptotic
    behavior of a t-test robust to cluster heterogeneity. *Review of Economics
    and Statistics* 99(4), 698-709. https://doi.org/10.1162/REST_a_00639

    Examples
    --------
    Ten equal clusters, then one cluster carrying most of the variance:

    >>> import numpy as np
    >>> from tne_eval.inference.recommend import effective_clusters
    >>> psi = np.ones((20, 1)); cl = np.repeat(np.arange(10), 2)
    >>> float(effective_clusters(psi, cl)[0])
    10.0
    >>> psi[:2] = 10.0
    >>> round(float(effective_clusters(psi, cl)[0]), 3)
    1.187
    """
    psi = _as_psi(psi)
    codes, n_clusters = _codes(cluster, psi.shape[0])
    sq_psi = psi.multiply(psi) if sparse.issparse(psi) else psi**2
    gamma = _dense(_indicator(codes, n_clusters) @ sq_psi)
    total = gamma.sum(axis=0)
    sq = (gamma**2).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sq > 0, total**2 / sq, np.nan)


def treated_clusters(
    psi: object, cluster: object, row_cohort: object, *, rtol: float = 1e-10
) -> np.ndarray:
    """Distinct clusters among the treated rows that enter each estimate.

    Parameters
    ----------
    psi : ndarray or scipy sparse array, shape (n, k)
        Influence functions.
    cluster : ndarray of int, shape (n,) or None
        Cluster codes (``None``: each row its own cluster).
    row_cohort : ndarray, shape (n,)
        First treated period of each row's unit (``inf``: never treated).
    rtol : float, default 1e-10
        A row enters an estimate when its influence function exceeds ``rtol``
        times the largest in absolute value.

    Returns
    -------
    ndarray of int, shape (k,)
    """
    psi = _as_psi(psi)
    n, k = psi.shape
    codes, n_clusters = _codes(cluster, n)
    cohort = np.asarray(row_cohort, dtype=float)
    if cohort.shape != (n,):
        raise SpecError(f"row_cohort must have one value per row ({n}).")
    absolute = np.abs(_dense(psi))
    scale = absolute.max(axis=0) if n else np.zeros(k)
    enters = absolute > rtol * np.where(scale > 0, scale, np.inf)
    enters &= np.isfinite(cohort)[:, None]
    hits = _dense(_indicator(codes, n_clusters) @ enters.astype(float))
    return (hits > 0).sum(axis=0).astype(int)


def recommendation_note(
    terms: object,
    n_treated: np.ndarray,
    effective: np.ndarray | None = None,
    current: str | None = None,
    band: bool = False,
) -> Note | None:
    """Return the note stating the recommended inference for each group of terms.

    Parameters
    ----------
    terms : sequence of str
        Terms of the result.
    n_treated : ndarray of int
        :func:`treated_clusters` of each term (0: a term with no treated unit,
        such as a reference row, is skipped).
    effective : ndarray, optional
        :func:`effective_clusters` of each term.
    current : str, optional
        Description of the result's inference, quoted in the note.
    band : bool, default False
        The result shows a simultaneous band: the note says what the study found.

    Returns
    -------
    Note or None
        Of kind ``few_clusters`` (replaced by ``with_inference``); ``None``
        when no term rests on a treated cluster.
    """
    labels = [str(t) for t in terms]
    counts = np.asarray(n_treated, dtype=int)
    eff = (
        np.full(counts.shape, np.inf)
        if effective is None
        else np.asarray(effective, dtype=float)
    )
    groups: dict[int, list[str]] = {}
    for term, n, e in zip(labels, counts, eff):
        if n >= 1:
            idx = RECOMMENDATIONS.index(recommend(int(n), e))
            groups.setdefault(idx, []).append(term)
    if not groups:
        return None
    parts = []
    for idx in sorted(groups, reverse=True):
        rec = RECOMMENDATIONS[idx]
        names = groups[idx]
        shown = ", ".join(names[:6]) + (", ..." if len(names) > 6 else "")
        head = f"{rec.name} ({shown}): "
        if rec.shown_valid:
            parts.append(head + f"use {rec.inference}; {rec.evidence}.")
        else:
            parts.append(
                head + f"no inference was shown valid ({rec.evidence}); {rec.advice}."
            )
    if band:
        parts.append(BAND_RECOMMENDATION)
    lead = "Recommended inference (TNE-design Monte Carlo, " + STUDY + ")"
    if current:
        lead += f"; this result uses {current}"
    return Note(lead + ". " + " ".join(parts), NoteKind.FEW_CLUSTERS)


def recommended_spec(
    rec: Recommendation, *, reps: int = 9999, seed: int | None = None
) -> object | None:
    """Return the inference object of a recommendation, for ``with_inference``.

    Parameters
    ----------
    rec : Recommendation
        A row of :data:`RECOMMENDATIONS` (e.g. from :func:`recommend`).
    reps : int, default 9999
        Draws of the wild bootstrap or of Ferman-Pinto.
    seed : int, optional
        Seed of those draws.

    Returns
    -------
    WildBootstrap, FermanPinto, CR2 or None
        ``None`` when the study showed no method valid for the class.

    Examples
    --------
    >>> from tne_eval.inference.recommend import recommend, recommended_spec
    >>> recommended_spec(recommend(2), reps=999, seed=1)
    FermanPinto(reps=999, seed=1)
    >>> recommended_spec(recommend(12, 6.0))
    CR2(df='satterthwaite')
    """
    from tne_eval.inference.spec import CR2, FermanPinto, WildBootstrap

    if rec.study_method is None:
        return None
    make = {
        "wild_u": lambda: WildBootstrap(reps=reps, impose_null=False, seed=seed),
        "ferman_pinto": lambda: FermanPinto(reps=reps, seed=seed),
        "cr2": lambda: CR2(),
    }
    if rec.study_method not in make:  # pragma: no cover - the table's methods
        raise SpecError(f"no inference object for study method {rec.study_method!r}.")
    return make[rec.study_method]()


def with_recommended_inference(
    result: object, *, reps: int = 9999, seed: int | None = None
) -> pd.DataFrame:
    """Every term of ``result`` with the inference the decision table gives it.

    Each term is classed by its treated and effective clusters
    (:func:`recommend`); the terms of a class are re-inferred together with
    :func:`recommended_spec` and their rows taken from that result. Terms of a
    class where no method was shown valid keep their estimate with missing
    interval, p-value and standard error, so that no unvalidated interval is
    printed as if it were one.

    Parameters
    ----------
    result : att_gt or aggregate result
        Anything whose ``to_frame()`` has ``n_treated_clusters`` and
        ``effective_clusters`` columns and which has ``with_inference``.
    reps, seed
        As :func:`recommended_spec`.

    Returns
    -------
    pandas.DataFrame
        ``result.to_frame()`` with the recommended ``std_error``, ``conf_low``,
        ``conf_high`` and ``p_value``, plus ``inference`` (the description of
        the inference used, or ``"none shown valid"``) and ``recommendation``
        (the class's name).
    """
    import pandas as pd

    frame = result.to_frame().copy()  # type: ignore[attr-defined]
    missing = {"n_treated_clusters", "effective_clusters"} - set(frame.columns)
    if missing:
        raise SpecError(
            f"with_recommended_inference needs the columns {sorted(missing)} in "
            "result.to_frame() (att_gt and aggregate results have them)."
        )
    frame["inference"] = pd.Series(pd.NA, index=frame.index, dtype="string")
    frame["recommendation"] = pd.Series(pd.NA, index=frame.index, dtype="string")
    classes: dict[int, list[object]] = {}
    for term, row in frame.iterrows():
        n = row["n_treated_clusters"]
        if pd.isna(n) or int(n) < 1:
            continue
        rec = recommend(int(n), float(row["effective_clusters"]))
        classes.setdefault(RECOMMENDATIONS.index(rec), []).append(term)
    columns = [
        c for c in ("std_error", "conf_low", "conf_high", "p_value") if c in frame
    ]
    for idx, terms in classes.items():
        rec = RECOMMENDATIONS[idx]
        frame.loc[terms, "recommendation"] = rec.name
        spec = recommended_spec(rec, reps=reps, seed=seed)
        if spec is None:
            frame.loc[terms, columns] = np.nan
            frame.loc[terms, "inference"] = "none shown valid"
            continue
        redone = result.with_inference(spec)  # type: ignore[attr-defined]
        frame.loc[terms, columns] = redone.to_frame().loc[terms, columns].to_numpy()
        frame.loc[terms, "inference"] = redone.inferred.description
    return frame
