"""`torchrun --nproc_per_node=2 -m seqlab train …`: two CPU processes train one model with DDP."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def test_two_processes_keep_identical_replicas(tmp_path, spam_file):
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
        "train.max_steps=4",
        "train.batch_size=8",
        "train.precision=fp32",
    ]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    meta = json.loads((tmp_path / "run" / "meta.json").read_text())
    assert meta["processes"] == 2 and meta["steps"] == 4
    first, second = meta["replica_checksums"]
    assert first == second  # every parameter of both replicas, summed in float64
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["accuracy"] > 0
