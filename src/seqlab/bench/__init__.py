"""Benchmarks: `speed` (this machine's limit, seqlab beside its peers) and `quality` (the published-results
rows, which read their configs from a checkout of the repository)."""

from __future__ import annotations

from collections.abc import Callable

from seqlab.bench import quality


def quality_rows() -> Callable[[list[str]], int]:
    """The `main(argv)` of the published-results rows, which `seqlab bench quality` runs."""
    return quality.main
