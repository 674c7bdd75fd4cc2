"""``python -m convene.worker``: the worker a server starts as its child.

Its settings come as JSON in ``CONVENE_WORKER_SETTINGS`` (the parent's, minus what a worker
does not need), or from the usual settings sources when that is not set.
"""

from __future__ import annotations

import os

from convene.config import Settings, load_settings
from convene.worker.main import run_worker

ENV = "CONVENE_WORKER_SETTINGS"


def main() -> None:
    given = os.environ.pop(ENV, None)
    settings = Settings.model_validate_json(given) if given else load_settings()
    run_worker(settings)


if __name__ == "__main__":
    main()
