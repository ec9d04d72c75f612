"""Heavy modules imported on first use, so a task that never needs them never pays for them.

A module that names pandas in signatures but needs it only while it runs writes::

    if TYPE_CHECKING:
        import pandas as pd
    else:
        pd = lazy("pandas")

Type checkers see the real module; at run time the first attribute read (``pd.DataFrame``)
imports it. The proxy is never put in ``sys.modules``, so ``"pandas" in sys.modules`` stays
a true statement of what a process has imported.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

__all__ = ["lazy"]


class _Lazy:
    __slots__ = ("_module", "_name")

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:  # noqa: ANN401 - whatever the module holds
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attr)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}{'' if self._module is None else ' (imported)'}>"


def lazy(name: str) -> Any:  # noqa: ANN401 - stands for the module
    """A stand-in for module ``name`` that imports it when an attribute is first read."""
    return _Lazy(name)
