"""The one place the function's version is written: every check's User-Agent names it.

(The package metadata in pyproject.toml is the development tooling's, not what users see.)
"""

from typing import Final

__all__ = ["VERSION"]

VERSION: Final = "1.0"
