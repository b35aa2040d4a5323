"""One local scan of the zoo (tests.fixtures.scan_fixtures), shared by the scan tests: a scan runs
real pre-flights in child processes, seconds per cell, so it runs once per session."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.scan_fixtures import REPO, Zoo, make_zoo, run_cli


@pytest.fixture(scope="session")
def zoo(tmp_path_factory: pytest.TempPathFactory) -> Zoo:
    return make_zoo(tmp_path_factory.mktemp("zoo"))


@pytest.fixture(scope="session")
def local_scan(zoo: Zoo, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The zoo scanned once with the local executor: (DIR, matrix)."""
    out = tmp_path_factory.mktemp("scan") / "out"
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(REPO)  # the factories are tests.fixtures.scan_zoo, imported from the repo root
        assert run_cli(zoo.args(out)) == 0
    return out, json.loads((out / "matrix.json").read_text())
