"""The layout's import rules (issue 13), read from the source with ``ast``: the emulators and
worlds are test and demo infrastructure, and the domain knows neither Dagster nor FastAPI."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("plexrecs_assets", "plexrecs_api")
# The two commands that start emulators; they import them inside the command, never at load.
EMULATOR_COMMANDS = {"plexrecs_assets/cli/emulate.py", "plexrecs_assets/cli/demo.py"}


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(module, at module level) for every import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, id(node) in top) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append((node.module, id(node) in top))
    return found


def _product_files():
    for package in PRODUCT:
        yield from sorted((ROOT / package).rglob("*.py"))


def test_product_code_imports_the_emulators_only_lazily_in_the_emulate_and_demo_commands():
    offenders = []
    for path in _product_files():
        rel = path.relative_to(ROOT).as_posix()
        for module, top_level in _imports(path):
            if module.split(".")[0] != "plexrecs_emulators":
                continue
            if rel not in EMULATOR_COMMANDS or top_level:
                offenders.append(f"{rel}: {module}")
    assert offenders == []
    assert not (ROOT / "plexrecs_assets" / "emulators").exists() and not (ROOT / "plexrecs_assets" / "world").exists()


# The domain (product.md §3): everything but the Dagster glue (defs/, definitions.py and the
# run helpers beside it) and the CLI.
DOMAIN = ["config", "documents.py", "keys.py", "outputs.py", "run_blocks.py", "video", "engines", "publish",
          "store", "clients", "people"]


def _domain_files():
    for name in DOMAIN:
        path = ROOT / "plexrecs_assets" / name
        yield from ([path] if path.suffix == ".py" else sorted(path.rglob("*.py")))


def test_domain_modules_import_neither_dagster_nor_fastapi():
    files = list(_domain_files())
    assert len(files) > 30  # the packages exist where product.md puts them
    offenders = [f"{path.relative_to(ROOT)}: {module}" for path in files
                 for module, _ in _imports(path)
                 if module.split(".")[0] in {"dagster", "fastapi", "starlette"}
                 or module.split(".")[:2] in (["plexrecs_assets", "defs"], ["plexrecs_assets", "cli"])
                 or module.split(".")[0] == "plexrecs_api"]
    assert offenders == []


def test_the_old_technical_folders_are_gone():
    for old in ("core", "pipeline", "defs/history", "defs/recs"):
        assert not (ROOT / "plexrecs_assets" / old).exists(), old


def test_sql_lives_in_the_store_layer():
    offenders = [f"{path.relative_to(ROOT)}: {module}" for path in _product_files()
                 if "plexrecs_assets/store/" not in path.relative_to(ROOT).as_posix()
                 for module, _ in _imports(path) if module.split(".")[0] == "sqlalchemy"]
    assert offenders == []
