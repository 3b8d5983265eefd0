"""Sphinx configuration of the tne_eval documentation."""

import tne_eval

project = "tne_eval"
author = "The tne_eval developers"
copyright = "2026, the tne_eval developers"
release = tne_eval.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "myst_parser",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
autosummary_generate = True
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks = {"GL08"}  # every public object has a docstring
numpydoc_validation_exclude = {r"\.__init__$", r"\.__post_init__$"}
exclude_patterns = ["_build", "api/generated/*.md"]
html_theme = "alabaster"
nitpicky = False
suppress_warnings = ["myst.header"]
intersphinx_mapping = {}
