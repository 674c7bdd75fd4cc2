"""``python -m convene.migrations <alembic arguments>``: the Alembic command line for developers."""

from __future__ import annotations

import sys

from alembic.config import CommandLine

from convene.config import load_settings
from convene.migrations import alembic_config
from convene.storage.db import normalize_url


def main(argv: list[str] | None = None) -> None:
    """Run an Alembic command against the configured database."""
    cli = CommandLine(prog="python -m convene.migrations")
    options = cli.parser.parse_args(argv if argv is not None else sys.argv[1:])
    if not hasattr(options, "cmd"):
        cli.parser.error("too few arguments")
    url = normalize_url(load_settings().effective_database_url)
    cli.run_cmd(alembic_config(url.render_as_string(hide_password=False)), options)


if __name__ == "__main__":
    main()
