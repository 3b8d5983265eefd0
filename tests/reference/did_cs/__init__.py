"""Reference data for the Callaway-Sant'Anna estimator (see tests/reference/README.md)."""
