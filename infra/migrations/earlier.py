"""An earlier revision's module, for a migration that builds on that revision's SQL."""

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path
from types import ModuleType

VERSIONS = Path(__file__).with_name("versions")


def revision(name: str) -> ModuleType:
    """The module of versions/<name>.py (its SQL, as it stands)."""
    spec = spec_from_file_location(name, VERSIONS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
