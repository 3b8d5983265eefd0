"""Shared numerics (private): arrays in, arrays out; no pandas, specs or results.

``linalg`` (weighted Gram matrices and a rank-checked solver), ``wls`` (weighted
least squares with the estimation effect of its coefficients), ``glm`` (logit and
inverse-probability-tilting propensity scores) and ``within`` (exact two-way
fixed-effects projections). Estimator families import from here; nothing here
imports an estimator.
"""
