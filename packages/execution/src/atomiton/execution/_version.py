"""The version of atomiton-execution, as a literal.

Reading it with importlib.metadata cost ~16 ms at import (issue 19: every package imports in
< 10 ms); tests/test_import_cost.py checks this literal against the installed distribution's
metadata, so a version bump in pyproject.toml that forgets this file fails the tests.
"""

__version__ = "0.1.0"
