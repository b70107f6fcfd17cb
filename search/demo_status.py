"""What the demo command is building now, for the home page served while it builds.

`manage.py demo` writes DATA_DIR/demo/demo-status.json (atomically) as each
step starts and removes it when it ends, whether it finished or failed.
"""

import json
from pathlib import Path

from django.conf import settings

from conversion.files import atomic_path

STATUS_FILE = "demo-status.json"


def status_path() -> Path:
    return Path(settings.DATA_DIR) / "demo" / STATUS_FILE


def write_status(status: dict | None) -> None:
    """What the demo is building now, for the home page; None when it is done (or stopped)."""
    path = status_path()
    if status is None:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(status))


def read_status() -> dict | None:
    try:
        return json.loads(status_path().read_text())
    except (OSError, ValueError):
        return None

