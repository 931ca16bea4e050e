"""The package's import graph: no cycles, and no import from a lower layer up into a higher one.

Imports inside functions count as much as those at the top: a lazy import is still a
dependency, and a cycle through one only waits for the first call to break.
"""

import ast
import os

from conftest import REPO

PACKAGE = os.path.join(REPO, "tf_crnn")

# Lowest first; a module may import from its own layer and the layers below it.
LAYERS = [
    ("core", ["tf_crnn", "tf_crnn.errors", "tf_crnn.atomic_files", "tf_crnn.text_files", "tf_crnn.word_metrics",
              "tf_crnn.cache", "tf_crnn.alphabet", "tf_crnn.backbone_table", "tf_crnn.config", "tf_crnn.precision",
              "tf_crnn.kernels", "tf_crnn.model_files"]),
    ("data", ["tf_crnn.data"]),
    ("synth", ["tf_crnn.synth"]),
    ("decoding", ["tf_crnn.decoding"]),
    ("model", ["tf_crnn.model"]),
    ("export", ["tf_crnn.export"]),
    ("training", ["tf_crnn.training"]),
    ("inference", ["tf_crnn.inference", "tf_crnn.serving_client"]),
    ("evaluation", ["tf_crnn.evaluation"]),
]
# Commands that people type: the top, over everything. They live in tf_crnn.cli; the
# modules below are the names earlier releases gave some of them, forwarding there.
COMMANDS = ["tf_crnn.cli", "tf_crnn.train", "tf_crnn.predict", "tf_crnn.evaluate", "tf_crnn.portable_evaluate",
            "tf_crnn.tflite_convert", "tf_crnn.onnx_export"]


def package_modules() -> dict:
    """module name -> file, for every module of tf_crnn."""
    modules = {}
    for folder, _, names in os.walk(PACKAGE):
        for name in names:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                dotted = os.path.relpath(path[:-3], REPO).replace(os.sep, ".")
                modules[dotted[:-len(".__init__")] if dotted.endswith(".__init__") else dotted] = path
    return modules


def _program_entry(node) -> bool:
    """`if __name__ == "__main__":`: what runs only when the file is the program (`python -m
    tf_crnn.data.convert` forwarding to its command in tf_crnn.cli), never on import."""
    test = node.test if isinstance(node, ast.If) else None
    return (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name) and test.left.id == "__name__"
            and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in test.comparators))


def imports_of(name: str, path: str, modules: dict) -> set:
    """The tf_crnn modules `name` imports, anywhere in its file but its program entry; a
    `__main__` module is all program entry."""
    package = name if path.endswith("__init__.py") else name.rsplit(".", 1)[0]
    if name.endswith(".__main__"):
        return set()
    tree = ast.parse(open(path, encoding="utf-8").read())
    tree.body = [node for node in tree.body if not _program_entry(node)]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            for alias in node.names:  # `from tf_crnn.model import metrics` imports a module
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
    return {module for module in found if module in modules and module != name}


def import_graph() -> dict:
    modules = package_modules()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def layer_of(name: str) -> int:
    if name in COMMANDS or name.startswith("tf_crnn.cli."):
        return len(LAYERS)
    for index, (_, members) in enumerate(LAYERS):
        if name in members or any(name.startswith(member + ".") for member in members if member != "tf_crnn"):
            return index
    raise AssertionError(f"{name} belongs to no layer: add it to LAYERS or COMMANDS in this test")


def find_cycle(graph: dict):
    """One import cycle as a list of modules, or None."""
    state = {}

    def visit(node, path):
        state[node] = "open"
        for neighbour in sorted(graph[node]):
            if state.get(neighbour) == "open":
                return path[path.index(neighbour):] + [neighbour]
            if neighbour not in state:
                cycle = visit(neighbour, path + [neighbour])
                if cycle:
                    return cycle
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state:
            cycle = visit(start, [start])
            if cycle:
                return cycle
    return None


def test_the_import_graph_has_no_cycle():
    graph = import_graph()
    assert len(graph) > 40  # the walk found the package
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_module_imports_from_a_higher_layer():
    upward = [f"{name} ({LAYERS[layer_of(name)][0] if layer_of(name) < len(LAYERS) else 'command'}) imports "
              f"{target} ({LAYERS[layer_of(target)][0] if layer_of(target) < len(LAYERS) else 'command'})"
              for name, targets in import_graph().items() for target in sorted(targets)
              if layer_of(target) > layer_of(name)]
    assert not upward, "\n".join(upward)


def test_every_module_says_what_it_is_for():
    missing = [name for name, path in package_modules().items()
               if not ast.get_docstring(ast.parse(open(path, encoding="utf-8").read()))]
    assert not missing, missing
