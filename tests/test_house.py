"""The house rules anyone can check: no import circle in src/aelab (lazy imports inside functions
count), no function over 80 lines, no module over 400, and the commands that must not load torch."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from conftest import REPO

SRC = REPO / "src"
PACKAGE = SRC / "aelab"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py") if "conf" not in p.relative_to(PACKAGE).parts[:1]}


def import_graph() -> dict[str, set[str]]:
    """Module → the aelab modules it imports, at the top or inside a function (static, by name)."""
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(
                        package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                    )
                targets = [base] + [f"{base}.{a.name}" for a in node.names]
            for target in targets:
                if target in modules and target != name:
                    graph[name].add(target)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_find_cycle_finds_a_circle_and_none_where_there_is_none():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_no_import_circle_in_src_aelab():
    assert find_cycle(import_graph()) is None


def test_no_function_over_80_lines_and_no_module_over_400():
    longest, largest = (0, ""), (0, "")
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text()
        largest = max(largest, (len(text.splitlines()), str(path.relative_to(REPO))))
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                longest = max(longest, (node.end_lineno - node.lineno + 1, f"{path.relative_to(REPO)}:{node.name}"))
    print(f"longest function: {longest[1]} ({longest[0]} lines); largest module: {largest[1]} ({largest[0]} lines)")
    assert longest[0] <= 80 and largest[0] <= 400


def _modules_loaded_by(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return set(out.stdout.split())


def test_the_config_and_every_choice_load_without_torch():
    """Composing, checking and listing every key and choice (what --help and a refusal need) never
    imports torch."""
    code = (
        "import sys\n"
        "from aelab.config import compose, to_config, check\n"
        "from aelab.config.reference import help_lines\n"
        "check(to_config(compose(['model=conv', 'ae=vae', 'experiment=hinton2006_conv'])))\n"
        "help_lines()\n"
        "print(' '.join(sys.modules))\n"
    )
    assert "torch" not in _modules_loaded_by(code)
