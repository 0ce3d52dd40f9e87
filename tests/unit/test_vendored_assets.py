"""The vendored front-end files are exactly what their manifests say (scripts/vendor-assets
wrote them from npm), stay small, and nothing in the templates comes from another site."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = [ROOT / "src/pars/web/static/vendor", ROOT / "tests/browser/vendor"]


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_vendored_file_matches_its_manifest(folder: Path) -> None:
    manifest = json.loads((folder / "MANIFEST.json").read_text())
    on_disk = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}
    assert on_disk - {"MANIFEST.json"} == set(manifest), "run scripts/vendor-assets"
    for name, entry in manifest.items():
        assert {"package", "version", "licence", "sha256"} <= entry.keys(), name
        digest = hashlib.sha256((folder / name).read_bytes()).hexdigest()
        assert digest == entry["sha256"], f"{name} differs from the manifest"


def test_runtime_assets_stay_small() -> None:
    total = sum(p.stat().st_size for p in FOLDERS[0].rglob("*") if p.is_file())
    assert total < 4_000_000, f"{total} bytes vendored: keep only the files PARS uses"


def test_templates_load_nothing_from_another_site() -> None:
    for path in (ROOT / "src/pars/web/templates").rglob("*.html"):
        text = path.read_text()
        assert not re.search(r'(src|href)="(https?:)?//', text), path
