"""Dependencies flow one way: l1kweb (the ground) <- conversion <- signatures <- search.

Read from the source with ast. For the direction, an import inside a function
counts as much as one at the top; migrations and Django's own wiring (the URL
conf, which mounts every app's pages) are the only places allowed to look up.
For cycles, the imports that run when a module is loaded count: a model
method that imports its app's task module when called (to send the job) is
how Django apps reach Celery and makes no import-order cycle.
"""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ORDER = ["l1kweb", "conversion", "signatures", "search"]
# The root URL conf includes the search app's URLs: Django wiring, not a dependency of the ground.
WIRING = {"l1kweb.urls": {"search"}}


def _modules():
    for package in ORDER:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            yield name.removesuffix(".__init__"), path


def _load_time_nodes(tree):
    """The statements that run when the module is imported: not function bodies."""
    todo = list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        yield node
        todo.extend(ast.iter_child_nodes(node))


def _imports(name: str, path: Path, *, load_time_only: bool = False) -> set[str]:
    found = set()
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in _load_time_nodes(tree) if load_time_only else ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level:
            base = name.split(".")[: -node.level] if not path.name == "__init__.py" else name.split(".")[: len(name.split(".")) - node.level + 1]
            module = ".".join(base + ([node.module] if node.module else []))
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return {m for m in found if m.split(".")[0] in ORDER}


def _graph(*, load_time_only: bool = False):
    modules = dict(_modules())
    graph = {}
    for name, path in modules.items():
        targets = set()
        for imported in _imports(name, path, load_time_only=load_time_only):
            # `from a.b import c` names module a.b.c when c is a module, else a.b.
            while imported and imported not in modules:
                imported = imported.rpartition(".")[0]
            if imported and imported != name:
                targets.add(imported)
        graph[name] = targets
    return graph


def test_no_module_imports_an_app_above_its_own():
    upward = []
    for name, targets in _graph().items():
        level = ORDER.index(name.split(".")[0])
        for target in targets:
            app = target.split(".")[0]
            if ORDER.index(app) > level and app not in WIRING.get(name, set()):
                upward.append(f"{name} imports {target}")
    assert upward == [], "imports against the direction l1kweb <- conversion <- signatures <- search:\n" + "\n".join(sorted(upward))


def test_no_import_cycle_between_modules():
    graph = _graph(load_time_only=True)
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in graph:
        if v not in index:
            visit(v)
    assert cycles == [], "modules that import each other (directly or round a loop):\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_every_module_imports_in_a_fresh_interpreter():
    names = [name for name, _ in _modules() if not name.endswith((".apps", "wsgi", "asgi"))]
    code = "import django; django.setup()\nimport importlib\nfor n in %r:\n    importlib.import_module(n)\nprint('ok', len(%r))" % (names, names)
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                            env={"DJANGO_SETTINGS_MODULE": "l1kweb.settings", "PATH": "/usr/bin:/bin", "HOME": "/tmp"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split()[0] == "ok"
