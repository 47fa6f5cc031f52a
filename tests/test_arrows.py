"""The arrows between the apps, and between the modules inside them, point one way (DESIGN.md).

Read from the code's own imports, those inside functions included: an import that runs late is
an arrow all the same. Migrations are left out: they name models by string.
"""

import ast
from pathlib import Path

BASE = Path(__file__).resolve().parent.parent
PACKAGES = ("config", "audit", "crm", "loyalty", "notifications", "surveys", "campaigns", "privacy")
# The apps each app may import (config is the project's frame: settings, urls, the Celery app).
APP_ARROWS = {
    # What staff did (the audit trail): at the very bottom, every app's admin records into it.
    "audit": set(),
    "crm": {"audit"},
    "loyalty": {"audit", "crm"},
    "notifications": {"audit", "crm", "loyalty"},
    "surveys": {"audit", "crm", "loyalty", "notifications"},
    # Segments and campaigns: on top of the apps that hold customers, points, messages and surveys,
    # it uses them all; none of them knows it exists (a notification names its campaign by a plain
    # id, never a foreign key into campaigns).
    "campaigns": {"audit", "crm", "loyalty", "notifications", "surveys"},
    # Where personal data lives, what a customer may take away and what erasure leaves: it reads
    # (and anonymises) every app, campaigns' members and holdouts included; no app below knows it exists.
    "privacy": {"audit", "crm", "loyalty", "notifications", "surveys", "campaigns"},
}


def _module_of(path: Path) -> str:
    parts = list(path.relative_to(BASE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _sources() -> dict[str, Path]:
    return {
        _module_of(path): path
        for package in PACKAGES
        for path in sorted((BASE / package).rglob("*.py"))
        if "migrations" not in path.parts
    }


def _graph() -> dict[str, set[str]]:
    """Module → the project's modules it imports (``from a import b`` names module a.b when there is one)."""
    sources = _sources()
    graph = {}
    for module, path in sources.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1], base]).strip(".")
                targets |= {
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in sources else base for alias in node.names
                }
        graph[module] = {target for target in targets if target in sources and target != module}
    return graph


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Groups of modules that import each other in a loop (Tarjan's strongly connected components)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in graph[module]:
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                circles.append(sorted(group))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return circles


def test_no_module_imports_one_that_imports_it_back():
    assert _circles(_graph()) == []


def test_apps_import_only_the_apps_below_them():
    wrong = sorted(
        (module, target)
        for module, targets in _graph().items()
        for target in targets
        if (app := module.split(".")[0]) in APP_ARROWS
        and (other := target.split(".")[0]) in APP_ARROWS
        and other != app
        and other not in APP_ARROWS[app]
    )
    assert wrong == []
