"""The notebook runs with no engine on the small real results shipped with the lab, and says so."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lab import results, shipped


def test_the_sample_is_a_real_labelled_run() -> None:
    """Each shipped run records its command, seed and the server versions it was measured on, and loads."""
    runs = sorted(p.parent for p in shipped.sample_results().glob("*/run.json"))
    assert {json.loads((run / "run.json").read_text())["kind"] for run in runs} == {"incident", "workload"}
    label = (shipped.sample_results() / "README.md").read_text()
    for run in runs:
        meta = json.loads((run / "run.json").read_text())
        assert meta["completed"] and meta["cells_failed"] == 0 and meta["argv"][1] == "run"
        assert meta["server_versions"] and run.name in label
        for versions in meta["server_versions"].values():
            assert all(version in label for version in (v.split()[-1] for v in versions))
    loaded = results.load(runs)
    assert len(loaded.cells) == sum(json.loads((r / "run.json").read_text())["cells_done"] for r in runs)
    assert (loaded.cells["status"] == "completed").all()


def test_notebook_runs_on_the_shipped_sample(run_notebook: Callable[..., list[Any]], tmp_path: Path) -> None:
    """Started outside any checkout with no LAB_RESULTS_DIR, it falls back to the sample and draws everything."""
    outputs = run_notebook(None, cwd=tmp_path)
    printed = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "using the shipped sample" in printed
    for run in shipped.sample_results().glob("*/run.json"):
        assert run.parent.name in printed
    assert "mariadb 10.11.19" in printed
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 6
