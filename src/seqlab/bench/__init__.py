"""Benchmarks: `speed` (this machine's limit, seqlab beside its peers) and the published-results
rows of `benchmarks/run.py` in a checkout of the repository, which `seqlab bench quality` runs."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path

from seqlab.errors import UserError


def quality_rows() -> Callable[[list[str]], int]:
    """The `main(argv)` of the checkout's benchmarks/run.py: its rows need the repository's configs."""
    script = Path(__file__).resolve().parents[3] / "benchmarks" / "run.py"
    if not script.is_file():
        raise UserError("seqlab bench quality runs benchmarks/run.py and configs/ of a checkout of the seqlab "
                        "repository; this installation has none (pip install -e from a clone)")
    spec = importlib.util.spec_from_file_location("seqlab_benchmark_rows", script)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module.main
