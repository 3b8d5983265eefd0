"""Public propensity-score fit: :func:`propensity_score`."""

from __future__ import annotations

import math
from types import MappingProxyType
from typing import Literal

import numpy as np
import pandas as pd

from tne_eval._validation import check_choice, check_dataframe
from tne_eval._warnings import warn
from tne_eval.errors import IdentificationError, OverlapWarning, SpecError
from tne_eval.matching._frame import CrossSection, check_spec, prepare_cross_section
from tne_eval.matching._propensity import (
    common_support,
    crump_trim,
    fit_propensity,
    fixed_trim,
)
from tne_eval.matching.results import PropensityResult
from tne_eval.matching.spec import CrossSectionSpec
from tne_eval.notes import Note, NoteKind
from tne_eval.results.base import make_provenance

__all__ = ["propensity_score"]

Discard = Literal["none", "both", "control", "treated"]
Trim = Literal["crump"] | float | tuple[float, float] | None


def propensity_score(
    data: pd.DataFrame,
    spec: CrossSectionSpec,
    *,
    link: Literal["logit", "probit"] = "logit",
    discard: Discard = "none",
    trim: Trim = None,
) -> PropensityResult:
    r"""Fit the propensity score ``P(treated | covariates)`` and flag poor overlap.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per unit (not modified).
    spec : CrossSectionSpec
        ``treatment`` and ``covariates`` (factors enter as level indicators, the
        first level dropped); ``weights``, when set, weight the likelihood.
    link : {"logit", "probit"}, default "logit"
        MatchIt's ``distance = "glm"`` with ``link``.
    discard : {"none", "both", "control", "treated"}, default "none"
        MatchIt's ``discard``: flag units outside the range of the score in the
        other group (``"both"``: either group; ``"control"``: controls outside
        the treated range; ``"treated"``: treated outside the control range).
    trim : {"crump"}, float, (float, float) or None
        Also flag units with extreme scores: ``"crump"`` the optimal rule of
        Crump, Hotz, Imbens & Mitnik (2009); a float ``a`` keeps
        ``a <= e <= 1 - a``; a pair keeps ``lower <= e <= upper``.

    Returns
    -------
    PropensityResult
        ``score``, ``linear_predictor``, ``discarded`` (indexed like the data),
        ``params``, ``support``; ``plot()`` draws the distributions by group.

    Raises
    ------
    DataError
        Treatment not 0/1; missing covariates (named, with counts).
    IdentificationError
        No overlap: separation (scores at 0 or 1), non-convergence, or
        ``discard``/``trim`` leaving no treated or no control unit.

    Warns
    -----
    OverlapWarning
        When ``discard`` or ``trim`` flags units (the counts are in ``notes``).

    Notes
    -----
    The model is a binomial GLM fitted by IRLS (statsmodels), the model of
    R's ``glm(family = binomial(link))`` that MatchIt uses; on the LaLonde data
    the scores reproduce MatchIt 4.7.2's printed 'All Data' distance row to 4
    decimals (``tests/matching/test_reference_matchit.py``).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from tne_eval.matching import CrossSectionSpec, propensity_score
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=400)
    >>> df = pd.DataFrame({"x": x, "d": (rng.random(400) < 1 / (1 + np.exp(-x))).astype(int)})
    >>> ps = propensity_score(df, CrossSectionSpec(outcome=None, treatment="d", covariates=("x",)))
    >>> bool(ps.params["x"] > 0)
    True
    """
    check_dataframe(data)
    check_spec(spec)
    check_choice(link, "link", ("logit", "probit"))
    check_choice(discard, "discard", ("none", "both", "control", "treated"))
    cs = prepare_cross_section(data, spec)
    fit, discarded, support, notes = _fit_and_flag(cs, link, discard, trim)
    idx = cs.index
    return PropensityResult(
        score=pd.Series(fit.score, index=idx, name="score"),
        linear_predictor=pd.Series(
            fit.linear_predictor, index=idx, name="linear_predictor"
        ),
        treated=pd.Series(cs.treated, index=idx, name="treated"),
        discarded=pd.Series(discarded, index=idx, name="discarded"),
        params=pd.Series(fit.params, index=_param_names(cs), name="params"),
        link=link,
        support=support,
        spec=spec,
        options=MappingProxyType({"link": link, "discard": discard, "trim": trim}),
        notes=notes,
        provenance=make_provenance(cs.fingerprint),
    )


def _param_names(cs: CrossSection) -> list[str]:
    return ["(Intercept)", *cs.design(drop_first=True)[1]]


def _fit_and_flag(cs: CrossSection, link: str, discard: str, trim: Trim):
    """Fit the score; flag common support and trimming; return notes."""
    x, names = cs.design(drop_first=True)
    fit = fit_propensity(
        cs.treated, x, link=link, weights=cs.sampling_weights(), columns=names
    )
    notes: list[Note] = []
    sup = common_support(fit.score, cs.treated, discard)
    discarded = sup.discarded.copy()
    lower, upper = sup.lower, sup.upper
    if discard != "none" and discarded.any():
        notes.append(
            Note(
                f"discard={discard!r}: {sup.n_discarded_treated} treated and "
                f"{sup.n_discarded_control} control units outside the common support "
                f"of the score [{lower:.4g}, {upper:.4g}] were discarded.",
                NoteKind.DATA,
            )
        )
    if trim is not None:
        tr = _trim(fit.score, cs.treated, trim)
        newly = ~tr.keep & ~discarded
        discarded |= ~tr.keep
        lower, upper = max(lower, tr.alpha), min(upper, tr.upper)
        rule = "Crump et al. (2009) optimal rule" if trim == "crump" else "fixed bounds"
        notes.append(
            Note(
                f"trim={trim!r} ({rule}): kept scores in [{tr.alpha:.4g}, "
                f"{tr.upper:.4g}]; {int((newly & cs.treated).sum())} treated and "
                f"{int((newly & ~cs.treated).sum())} control units trimmed.",
                NoteKind.DATA,
            )
        )
    for grp, label in ((cs.treated, "treated"), (~cs.treated, "control")):
        if discarded[grp].all():
            raise IdentificationError(
                f"discard={discard!r} and trim={trim!r} leave no {label} unit: there "
                "is no overlap. Revisit the covariates or the comparison group."
            )
    if discarded.any():
        warn(" ".join(notes), OverlapWarning)
    return fit, discarded, (float(lower), float(upper)), tuple(notes)


def _trim(score: np.ndarray, treated: np.ndarray, trim: Trim):
    if isinstance(trim, str):
        if trim != "crump":
            raise SpecError(
                f"trim={trim!r} is not supported; use 'crump', a lower bound such as "
                "0.1, a (lower, upper) pair, or None."
            )
        return crump_trim(score, treated)
    if isinstance(trim, tuple) and len(trim) == 2:
        return fixed_trim(score, treated, float(trim[0]), float(trim[1]))
    if isinstance(trim, (int, float)) and not isinstance(trim, bool):
        if not math.isfinite(trim):
            raise SpecError(f"trim={trim!r} must be a finite number.")
        return fixed_trim(score, treated, float(trim))
    raise SpecError(
        f"trim={trim!r} is not supported; use 'crump', a lower bound such as 0.1, a "
        "(lower, upper) pair, or None."
    )
