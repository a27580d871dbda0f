"""`torchrun --nproc_per_node=2 -m seqlab train …`: two CPU processes train one model with DDP."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "budget",
    [["train.max_steps=4"], ["train.max_steps=400", "train.max_minutes=0.03"]],
    ids=["steps", "time"],  # within a time budget, the main process's clock stops and evaluates for all
)
def test_two_processes_keep_identical_replicas(tmp_path, spam_file, budget):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        "-m",
        "seqlab",
        "train",
        "--task",
        "classify",
        "--data",
        str(spam_file),
        "--encoder",
        "gru",
        "--out",
        str(tmp_path / "run"),
        "model.hidden_size=16",
        "model.embed_dim=12",
        *budget,
        "train.batch_size=8",
        "train.precision=fp32",
    ]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    meta = json.loads((tmp_path / "run" / "meta.json").read_text())
    assert meta["processes"] == 2
    if len(budget) == 1:
        assert meta["steps"] == 4
    else:
        assert meta["stopped_by"] == "time budget" and 0 < meta["steps"] < 400
    first, second = meta["replica_checksums"]
    assert first == second  # every parameter of both replicas, summed in float64
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["accuracy"] > 0
