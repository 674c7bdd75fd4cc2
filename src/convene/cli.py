"""The ``convene`` command: run the server and look after its database.

::

    convene serve [--config FILE] [--host HOST] [--port PORT]
    convene migrate [--config FILE]
    convene create-user --email EMAIL --name NAME [--config FILE]   (password prompted)
    convene config [--config FILE]                                   (secrets hidden)
    convene models list|download|verify                              (speech models)
    convene worker [--config FILE] [--server URL] [--id ID]          (captions worker)

Settings come from the TOML file (``--config`` or ``CONVENE_CONFIG``), then ``CONVENE_*``
environment variables; see :mod:`convene.config`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit, urlunsplit

import typer
import uvicorn
from pydantic import ValidationError
from rich.console import Console
from rich.logging import RichHandler
from rich.panel import Panel

from convene.app import create_app
from convene.auth.passwords import Passwords, validate_password
from convene.config import Settings, load_settings
from convene.protocol.errors import ConveneError
from convene.serving import uvicorn_config
from convene.speech.commands import models_app
from convene.storage.db import Database

__all__ = ["app", "main", "redacted_settings"]

app = typer.Typer(
    help="Convene: self-hostable online meetings.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
app.add_typer(models_app, name="models")
console = Console()
errors = Console(stderr=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="TOML settings file.",
        exists=True,
        dir_okay=False,
        envvar="CONVENE_CONFIG",
    ),
]

_SECRET_SUFFIXES = ("secret", "password", "credential", "admin_key")


def _load(config: Path | None, **overrides: Any) -> Settings:
    try:
        return load_settings(config, **{k: v for k, v in overrides.items() if v is not None})
    except (ValidationError, OSError, ValueError) as exc:
        errors.print(f"[red]Invalid settings:[/red] {exc}")
        raise typer.Exit(2) from None


def _hide_url_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def redacted_settings(settings: Settings) -> dict[str, Any]:
    """The effective settings as plain data, with secrets and URL passwords replaced."""

    def scrub(value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {k: scrub(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [scrub(v, key) for v in value]
        if key.endswith(_SECRET_SUFFIXES) and value:
            return "***"
        if isinstance(value, str) and "://" in value:
            return _hide_url_password(value)
        return value

    data: dict[str, Any] = scrub(settings.model_dump(mode="json"))
    data["database_url"] = _hide_url_password(settings.effective_database_url)
    return data


@app.command()
def serve(
    config: ConfigOption = None,
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (0: any free port).")] = None,
) -> None:
    """Run the server (migrating the database first)."""
    settings = _load(config, host=host, port=port)
    # Rich's rendering costs about a millisecond and a half a line, which an event's audience
    # (a line per attendee joining) turns into much of a join's cost: it is for a terminal;
    # a service's log (a file, journald, a container's) gets plain lines.
    handler: logging.Handler = RichHandler(console=errors, show_path=False)
    if not errors.is_terminal:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logging.basicConfig(level=settings.log_level.upper(), format="%(message)s", handlers=[handler])
    sock = None
    if settings.port == 0:
        # Bind now so the URLs the server hands out name the real port.
        family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((settings.host, 0))
        settings = settings.model_copy(update={"port": sock.getsockname()[1]})
    server = uvicorn.Server(uvicorn_config(create_app(settings, migrate=True), settings))
    # The event loop uvicorn would pick itself (uvloop where installed): serving here rather
    # than through uvicorn.run, Convene must ask for it.
    loop_factory = server.config.get_loop_factory()
    with contextlib.suppress(KeyboardInterrupt), asyncio.Runner(loop_factory=loop_factory) as run:
        run.run(_serve(server, settings, sock))


async def _serve(server: uvicorn.Server, settings: Settings, sock: socket.socket | None) -> None:
    task = asyncio.create_task(server.serve(sockets=[sock] if sock else None))
    # uvicorn offers a flag, not an event, for "listening".
    while not server.started and not task.done():  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    if server.started:
        console.print(
            Panel.fit(
                f"[bold green]Convene is running[/bold green] at [link]{settings.base_url}[/link]"
                f"\n[dim]REST API: {settings.base_url}/api/v1/docs   Stop: Ctrl+C[/dim]",
                border_style="green",
            )
        )
    await task


@app.command()
def migrate(config: ConfigOption = None) -> None:
    """Create or update the database schema."""
    settings = _load(config)

    async def run() -> tuple[str | None, str | None]:
        db = Database.from_settings(settings)
        try:
            before = await db.current_revision()
            with console.status(f"Migrating {db.url.render_as_string(hide_password=True)} ..."):
                await db.migrate()
            return before, await db.current_revision()
        finally:
            await db.close()

    before, after = asyncio.run(run())
    if before == after:
        console.print(f"[green]✓[/green] Database already up to date (revision {after}).")
    else:
        console.print(f"[green]✓[/green] Database migrated from {before or 'empty'} to {after}.")


@app.command("create-user")
def create_user(
    email: Annotated[str, typer.Option(help="Sign-in email address.")],
    name: Annotated[str, typer.Option(help="Display name.")],
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            help="Prompted for when not given.",
        ),
    ],
    config: ConfigOption = None,
) -> None:
    """Create an account (for servers where sign-up is disabled)."""
    settings = _load(config)
    try:
        validate_password(password)
    except ConveneError as exc:
        errors.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from None

    async def run() -> str:
        db = Database.from_settings(settings)
        try:
            await db.migrate()
            password_hash = await Passwords().hash_async(password)
            # Made by the operator, who vouches for the address: verified.
            user = await db.users.create(
                email=email, display_name=name, password_hash=password_hash, verified=True
            )
            return user.email
        finally:
            await db.close()

    try:
        created = asyncio.run(run())
    except ConveneError as exc:
        errors.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from None
    console.print(f"[green]✓[/green] Created user {created}.")


@app.command("worker")
def worker(
    config: ConfigOption = None,
    server: Annotated[
        str | None,
        typer.Option(help="The server's worker endpoint (ws://host:port/internal/worker)."),
    ] = None,
    worker_id: Annotated[str | None, typer.Option("--id", help="This worker's name.")] = None,
) -> None:
    """Run a captions worker (speech recognition) linked to a server."""
    from convene.worker.main import run_worker  # the speech libraries load only here

    run_worker(_load(config), server_url=server, worker_id=worker_id)


@app.command("config")
def show_config(config: ConfigOption = None) -> None:
    """Print the effective settings (secrets hidden)."""
    console.print_json(json.dumps(redacted_settings(_load(config))))


def main() -> None:
    """Entry point of the ``convene`` script."""
    app()
