"""Pure modules stay pure: clinical rules, scoring, unit conversion, allocation and statistics import no Django.

A pure module imports the standard library, numpy and scipy, and other pure modules, nothing else. Some
show their messages in the user's language, and for that alone may use Django's translation function
(`TRANSLATED`; their docstrings say "no Django but its translation function"); a module that imports one
of them (quality.checks imports labs.ranges) may use it through that module. The rest import no Django at
all (`NO_DJANGO`), which a fresh interpreter confirms at run time too.

The imports are read from the source (every `import` statement, lazy ones inside functions included) of
the module, of each project module it imports and of their packages' __init__ files, transitively.
"""

import ast
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECT = {
    "core",
    "patients",
    "labs",
    "outcomes",
    "quality",
    "analysis",
    "casebook",
    "exchange",
    "sampledata",
    "ivf_trial",
}
ALLOWED_LIBRARIES = {"numpy", "scipy"}
TRANSLATION = "django.utils.translation"

NO_DJANGO = [
    "analysis.snapshot",
    "analysis.stats",
    "core.csv_safety",
    "core.markers",  # gettext_noop for pure modules, without Django
    "exchange.odm.metadata",
    "exchange.odm.oids",
    "labs.display",
    "outcomes.instruments",
    "outcomes.scoring",
    "patients.allocation",
    "patients.allocation_stream",
    "quality.form_fields",
]
TRANSLATED = [
    "labs.import_csv",
    "labs.ranges",
    "labs.units",
    "labs.validation",
    "outcomes.rules",
    "patients.rules",
    "quality.catalogue",
    "quality.checks",
    "sampledata.demo_profiles",
    "sampledata.demo_questionnaires",
    "sampledata.demo_solver",
    "sampledata.paper_claims",
]


def _source(module: str) -> Path | None:
    path = ROOT.joinpath(*module.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imported_names(module: str, path: Path) -> set[str]:
    """Every module name an import statement of `path` names (a `from x import y` names x and x.y)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            names |= {base, *(f"{base}.{alias.name}" for alias in node.names)}
    return names


@cache
def _project_modules(module: str) -> frozenset[str]:
    """The module, and its parent packages, as project modules with a source file."""
    parts = module.split(".")
    return frozenset(m for m in (".".join(parts[:n]) for n in range(1, len(parts) + 1)) if _source(m))


def external_imports(module: str) -> set[str]:
    """What `module` and the project modules it imports, transitively, import from outside the project."""
    seen: set[str] = set()
    pending = list(_project_modules(module))
    external = set()
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        for name in _imported_names(current, _source(current)):
            if name.split(".")[0] in PROJECT:
                pending.extend(_project_modules(name))
            elif not name.startswith(f"{TRANSLATION}."):  # `from django.utils.translation import gettext`
                external.add(name)
    return external


def _not_allowed(names: set[str], allowed: set[str]) -> list[str]:
    def fine(name: str) -> bool:
        top = name.split(".")[0]
        return top in sys.stdlib_module_names or top in ALLOWED_LIBRARIES or name in allowed

    return sorted(name for name in names if not fine(name))


@pytest.mark.parametrize("module", NO_DJANGO + TRANSLATED)
def test_pure_module_imports_nothing_but_the_standard_library_numpy_scipy_and_pure_modules(module):
    assert _source(module), f"{module} is listed as pure but does not exist"
    allowed = {TRANSLATION} if module in TRANSLATED else set()
    assert _not_allowed(external_imports(module), allowed) == []


@pytest.mark.parametrize("module", NO_DJANGO)
def test_pure_module_imports_without_django_in_a_fresh_interpreter(module):
    code = f"import sys, {module}; assert not [m for m in sys.modules if m.split('.')[0] == 'django'], 'django'"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={}, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
