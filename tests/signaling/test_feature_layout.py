"""The layout of a live meeting: a core that knows no feature, features that know only the core.

Read from the source: which module imports which, and which request types each feature answers.
"""

from __future__ import annotations

import ast
import asyncio
import typing
from pathlib import Path
from typing import Any, cast

from convene.protocol.messages import REQUESTS
from convene.signaling import features
from convene.signaling.feature import Feature
from convene.signaling.session import Session

SIGNALING = Path(features.__file__).parent.parent
FEATURE_MODULES = sorted(
    f"convene.signaling.features.{p.stem}"
    for p in (SIGNALING / "features").glob("*.py")
    if p.stem != "__init__"
)


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def test_the_core_imports_no_feature() -> None:
    for path in SIGNALING.glob("*.py"):
        if path.stem == "registry":
            continue  # the one place where the features are built
        wrong = {n for n in imports_of(path) if n.startswith("convene.signaling.features")}
        assert not wrong, f"{path.name} imports {wrong}"


def test_features_import_the_core_interface_never_each_other_nor_the_conference() -> None:
    for path in (SIGNALING / "features").glob("*.py"):
        if path.stem == "__init__":
            continue
        signaling = {n for n in imports_of(path) if n.startswith("convene.signaling")}
        allowed = {n for n in signaling if n.startswith("convene.signaling.feature.")}
        allowed |= {"convene.signaling.feature"}
        assert signaling <= allowed, f"{path.name} imports {signaling - allowed}"


def test_every_feature_module_is_listed_and_every_feature_has_a_name() -> None:
    listed = {f.__module__ for f in features.FEATURES}
    assert listed == set(FEATURE_MODULES)
    names = [f.name for f in features.FEATURES]
    assert len(set(names)) == len(names)


def test_every_request_type_is_answered_once_with_its_protocol_model() -> None:
    session = Session(
        cast(Any, None),
        cast(Any, None),
        registry=cast(Any, None),
        db=cast(Any, None),
        joins=cast(Any, None),
        passcodes=cast(Any, None),
    )
    core = set(session._handlers)
    answered: dict[str, type[Feature[Any]]] = {}
    for feature in features.FEATURES:
        instance = feature(cast(Any, None))
        for request_type, handler in instance.handlers().items():
            assert request_type not in core, f"{request_type} is answered by the core too"
            assert request_type not in answered, f"{request_type} is answered twice"
            answered[request_type] = feature
            # (participant, request) -> reply, typed as the protocol says.
            hints = typing.get_type_hints(handler)
            _, request = (hints[k] for k in hints if k != "return")
            assert request is REQUESTS[request_type][0], request_type
            assert hints["return"] is REQUESTS[request_type][1], request_type
            assert asyncio.iscoroutinefunction(handler)
    assert core | set(answered) == set(REQUESTS)
