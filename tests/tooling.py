"""Import the repository's scripts in ``tools/`` (they are not a package) for the tests."""

from __future__ import annotations

import importlib.util
from pathlib import Path

TOOLS = Path(__file__).resolve().parents[1] / "tools"


def load_tool(name: str) -> object:
    """Import ``tools/<name>.py`` as the module ``tool_<name>``.

    Args:
        name: the script's name without ``.py``, e.g. ``"i18n"``.

    Returns:
        The module.
    """
    spec = importlib.util.spec_from_file_location(f"tool_{name}", TOOLS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
