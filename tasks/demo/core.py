"""The demo's fixed choices: how much it generates, its seed, and its own key file."""

from __future__ import annotations

import os
from pathlib import Path

from kofu.base.secret import create_key_file

DEMO_SEED = 20261126
# What `kofu demo` and the demo deployment generate unless told otherwise: small enough to
# run in well under a minute once the notice font is converted.
DEMO_RESIDENTS = 3000
DEMO_APPLICATIONS = 300


def ensure_demo_key() -> None:
    """The demo keeps its own key file (owner-only) unless a key is configured already."""
    if os.environ.get("KOFU_SECRET_KEY") or os.environ.get("KOFU_SECRET_KEY_FILE"):
        return
    data_dir = Path(os.environ.get("KOFU_DATA_DIR", "var"))
    os.environ["KOFU_SECRET_KEY_FILE"] = str(create_key_file(data_dir / "secret.key"))
