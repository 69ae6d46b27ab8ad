"""Prompt sweeps: prompts × settings × samples → a pandas DataFrame, run concurrently with a live progress view.

``sweep()`` (api.py) checks the grid (grid.py), runs the rows over one client (runner.py) and builds the DataFrame
(results.py); progress.py shows how far it got.
"""

from .api import sweep
from .grid import SWEEPABLE

__all__ = ["SWEEPABLE", "sweep"]
