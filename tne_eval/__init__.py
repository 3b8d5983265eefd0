"""tne_eval: impact evaluation of the Territoires numériques éducatifs programme."""

from tne_eval._version import __version__

__all__ = ["__version__"]
