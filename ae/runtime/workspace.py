"""The workspace: where everything trained or measured at run time goes.

The repository's ``checkpoints/`` folder holds the shipped models and is read-only at run time: the app and the
CLI write retrained checkpoints, rate–distortion points and reproducibility checks here instead, so a retrain
never modifies a tracked file. ``AELAB_HOME`` names the folder; by default it is the per-user data folder
(``$XDG_DATA_HOME/aelab``, else ``~/.local/share/aelab``).
"""

from __future__ import annotations

import os
from pathlib import Path

HOME_ENV = "AELAB_HOME"
# The repository's tracked models: read-only at run time. What the app or the CLI trains goes to the workspace.
SHIPPED_DIR = Path(__file__).resolve().parents[2] / "checkpoints"


def home() -> Path:
    """The workspace folder (not created here)."""
    explicit = os.environ.get(HOME_ENV)
    if explicit:
        return Path(explicit).expanduser()
    data_home = os.environ.get("XDG_DATA_HOME")
    # XDG says a relative XDG_DATA_HOME is invalid and must be ignored.
    base = Path(data_home) if data_home and Path(data_home).is_absolute() else Path.home() / ".local" / "share"
    return base / "aelab"


def checkpoint_dir(create: bool = True) -> Path:
    """The workspace's checkpoint folder; created unless ``create`` is false (a reader need not create it)."""
    path = home() / "checkpoints"
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path
