"""The package layout is the architecture: no package imports one above it, and the image never imports Pulumi.

Layers, bottom to top (README "How it fits together"): the basics, check/, alerting/,
history/, page/, then the entrypoints and the run's own modules. A module may import
its own layer and those below.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import healthcheck

# The package as imported: image/healthcheck here, its copy where make mutate runs the tests.
PACKAGE = Path(healthcheck.__file__).resolve().parent
BASICS = {"event", "exceptions", "text", "retrying", "version"}
LAYERS = ["basics", "check", "alerting", "history", "page", "top"]


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "top"
    if parts[1] in LAYERS:
        return parts[1]
    return "basics" if parts[1] in BASICS else "top"


def _imports(path: Path) -> set[str]:
    """Every healthcheck module ``path`` imports (relative imports resolved), and every other top-level package."""
    module = _module_name(path)
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                stem = ".".join([*base, *([node.module] if node.module else [])])
                found.update(f"{stem}.{alias.name}" if node.module is None else stem for alias in node.names)
            elif node.module:
                found.add(node.module)
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda path: _module_name(path))
def test_no_module_imports_a_layer_above_its_own(path: Path) -> None:
    module = _module_name(path)
    rank = LAYERS.index(_layer(module))
    upward = sorted(
        name for name in _imports(path) if name.startswith("healthcheck.") and LAYERS.index(_layer(name)) > rank
    )
    assert not upward, f"{module} ({_layer(module)}) imports from above it: {upward}"


@pytest.mark.parametrize("path", MODULES, ids=lambda path: _module_name(path))
def test_the_image_never_imports_pulumi_infra_or_localdev(path: Path) -> None:
    roots = {name.split(".")[0] for name in _imports(path)}
    assert not roots & {"pulumi", "pulumi_aws", "pulumi_docker_build", "infra", "localdev", "tests"}


def test_the_layers_are_what_the_readme_draws() -> None:
    packages = sorted(path.name for path in PACKAGE.iterdir() if (path / "__init__.py").exists())
    assert packages == sorted(layer for layer in LAYERS if layer not in ("basics", "top"))
