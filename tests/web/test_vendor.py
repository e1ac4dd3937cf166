"""The vendored browser files are exactly the ones vendor.json lists (version, checksum, licence), and
every file in the folder is listed: a hand edit or a stray file fails here, not in a user's browser."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import logicrm.web

VENDOR = Path(logicrm.web.__file__).parent / "static" / "vendor"


def _listing() -> list[dict]:
    return json.loads((VENDOR / "vendor.json").read_text())["packages"]


def test_every_vendored_file_matches_its_checksum_and_has_its_licence():
    for package in _listing():
        assert package["version"] and package["license"]
        assert (VENDOR / package["license_file"]).read_text().strip(), package["package"]
        for name in package["files"]:
            digest = hashlib.sha256((VENDOR / name).read_bytes()).hexdigest()
            assert digest == package["sha256"][name], (
                f"{name} differs from {package['package']} {package['version']}"
            )


def test_nothing_unlisted_lies_in_the_folder():
    listed = {"vendor.json"}
    for package in _listing():
        listed |= set(package["files"]) | {package["license_file"]}
    assert {path.name for path in VENDOR.iterdir()} == listed
