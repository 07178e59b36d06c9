"""The shape of the code (SPEC §10, docs/architecture.md), read from the source with Python's `ast`.

`lint-imports` (make lint) checks the layers with import-linter; these tests check the same on their own,
so that neither tool's blind spot hides a cycle: every import statement counts, at module level or inside
a function. They add the foreign keys between models (a string like "patients.Patient" is a dependency
too) and the size of modules.
"""

import ast
from collections import defaultdict
from pathlib import Path

from django.apps import apps as django_apps

ROOT = Path(__file__).resolve().parent.parent

# Bottom to top; apps on one level are siblings that must not import each other. closeout is reserved for
# the app still to come.
LAYERS = [
    {"core"},
    {"patients"},
    {"labs", "outcomes"},
    {"quality"},
    {"analysis", "casebook"},
    {"exchange"},
    {"closeout"},
    {"sampledata"},
]
LEVEL = {app: level for level, apps in enumerate(LAYERS) for app in apps}
APPS = [app for app in LEVEL if (ROOT / app).is_dir()]
MAX_MODULE_LINES = 400
NOT_OURS = {".venv", "var", "node_modules", ".git"}


def _imported_apps(path: Path) -> set[str]:
    """The apps a module imports, from every import statement anywhere in it (functions included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & set(LEVEL)


def app_imports() -> dict[tuple[str, str], list[str]]:
    """(importing app, imported app) → the modules where it happens, for every pair of different apps."""
    edges = defaultdict(list)
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            for imported in _imported_apps(path) - {app}:
                edges[app, imported].append(str(path.relative_to(ROOT)))
    return edges


def cycles(edges) -> list[list[str]]:
    """Every elementary cycle's app list, found by depth-first search from each app (the graph is tiny)."""
    graph = defaultdict(set)
    for source, target in edges:
        graph[source].add(target)
    found = []

    def walk(start, node, path):
        for nxt in sorted(graph[node]):
            if nxt == start:
                found.append([*path, start])
            elif nxt not in path and nxt > start:  # each cycle once, from its smallest app
                walk(start, nxt, [*path, nxt])

    for app in sorted(graph):
        walk(app, app, [app])
    return found


def test_no_import_cycle_between_apps():
    assert cycles(app_imports()) == []


def test_cycle_finder_finds_a_cycle_through_three_apps():
    assert cycles({("labs", "quality"): [], ("quality", "patients"): [], ("patients", "labs"): []}) == [
        ["labs", "quality", "patients", "labs"]
    ]


def test_imports_go_down_the_layers_only():
    upward = {pair: where for pair, where in app_imports().items() if LEVEL[pair[1]] >= LEVEL[pair[0]]}
    assert upward == {}


def test_lazy_imports_inside_functions_are_read(tmp_path):
    module = tmp_path / "probe.py"
    module.write_text("def later():\n    from quality import services\n    import analysis.stats\n")
    assert _imported_apps(module) == {"quality", "analysis"}


def test_foreign_keys_point_down_the_layers():
    """A model's relations (including pghistory's event models, which copy them) point to its own app or
    one below: a string foreign key is a dependency the import graph does not show."""
    upward = []
    for model in django_apps.get_models():
        source = model._meta.app_label
        if source not in LEVEL:
            continue
        for field in model._meta.get_fields(include_hidden=True):
            if not (field.is_relation and field.concrete and field.related_model):
                continue
            target = field.related_model._meta.app_label
            if target in LEVEL and target != source and LEVEL[target] >= LEVEL[source]:
                upward.append(f"{model._meta.label}.{field.name} -> {field.related_model._meta.label}")
    assert upward == []


def test_casebook_exchange_and_sampledata_have_no_models():
    """casebook and exchange read across apps, sampledata writes through their services: none owns data."""
    without_models = {"casebook", "exchange", "sampledata"}
    assert [m for m in django_apps.get_models() if m._meta.app_label in without_models] == []


# The arm codes of this trial's configuration (core migration 0002). The apps decide by Arm.is_control.
ARM_CODES = {"EXP", "CTRL"}
CONFIGURED_BY_DATA = {"sampledata"}  # the demo and synthetic trials reproduce this trial's own arms


def test_no_arm_code_is_written_in_the_apps():
    """Which arm is experimental is configuration (the non-control arm, patients.rules.receives_dalteparin):
    a literal arm code in the apps would break on a trial whose arms are named otherwise."""
    literals = []
    for app in set(APPS) - CONFIGURED_BY_DATA:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            literals += [
                f"{path.relative_to(ROOT)}:{node.lineno}"
                for node in ast.walk(tree)
                if isinstance(node, ast.Constant) and node.value in ARM_CODES
            ]
    assert literals == []


def _project_modules():
    for path in sorted(ROOT.rglob("*.py")):
        parts = set(path.relative_to(ROOT).parts)
        if not parts & NOT_OURS and "migrations" not in parts:
            yield path


def test_modules_stay_under_400_lines():
    """Over ~400 lines a module holds more than one concern: split it into a package by concern."""
    lines = {str(p.relative_to(ROOT)): len(p.read_text(encoding="utf-8").splitlines()) for p in _project_modules()}
    assert len(lines) > 200  # the walk found the project
    assert {path: n for path, n in lines.items() if n > MAX_MODULE_LINES} == {}
