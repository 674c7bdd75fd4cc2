"""What the server imports is installed by `scripts/start`: every third-party module imported by
the ``convene`` package belongs to a runtime dependency in pyproject.toml (or to something one of
them requires), not only to the ``dev`` extra that the tests install."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "convene"


def _name(dist: str) -> str:
    return re.sub(r"[-_.]+", "-", dist).lower()


def _imported_modules() -> dict[str, list[str]]:
    """Top-level modules the package imports (at run time or not), with where."""
    found: dict[str, list[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.partition(".")[0]
                found.setdefault(top, []).append(str(path.relative_to(ROOT)))
    return found


def _runtime_closure() -> set[str]:
    """The runtime dependencies and, transitively, what they require (extras they name
    included, environment markers for this interpreter respected)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pending = [Requirement(r) for r in project["dependencies"]]
    seen: set[str] = set()
    while pending:
        requirement = pending.pop()
        name = _name(requirement.name)
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(requirement.name) or []
        except metadata.PackageNotFoundError:
            continue
        for text in requires:
            sub = Requirement(text)
            if sub.marker is not None and not any(
                sub.marker.evaluate({"extra": extra}) for extra in ["", *sorted(requirement.extras)]
            ):
                continue
            pending.append(sub)
    return seen


def test_every_imported_module_is_a_runtime_dependency() -> None:
    providers = metadata.packages_distributions()
    runtime = _runtime_closure()
    missing: dict[str, list[str]] = {}
    for module, places in sorted(_imported_modules().items()):
        if module == "convene" or module in sys.stdlib_module_names or module == "__future__":
            continue
        dists = {_name(d) for d in providers.get(module, [])}
        assert dists, f"{module} (imported by {places[0]}) is not installed at all"
        if not dists & runtime:
            missing[module] = places
    assert not missing, (
        "imported by the server but installed only for the tests (add them to "
        f"[project.dependencies]): {missing}"
    )
