"""The run directory: everything needed to rebuild and use a model, and nothing unpickled.

config.yaml            the resolved RunConfig (architecture, data and training settings)
meta.json              format version, seqlab version, task, sizes; written last: its
                       presence marks a complete run
tokenizer.json         Hugging Face tokenizer (chars.json: the character vocabulary)
labels.json            label or tag names, index = class id
model.safetensors      the best weights
checkpoints/last.*     the latest weights, optimizer state and loop position, for --resume
history.csv            one row per evaluation
metrics.json           final held-out metrics
plots/, report.html    learning curves, confusion matrix, a one-page report
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any

import torch

from seqlab.config import FORMAT_VERSION, RunConfig
from seqlab.errors import UserError
from seqlab.files import atomic_write, write_json  # noqa: F401  (also read as run_dir.atomic_write)

REQUIRED = ("meta.json", "config.yaml", "model.safetensors")  # and the files of the run's task


def save_weights(model: torch.nn.Module, path: Path) -> None:
    """The weights as safetensors on the CPU, a tied weight once under its first name. (safetensors'
    own save_model refuses the views into one buffer that cuDNN makes of a recurrent layer's weights.)"""
    from safetensors.torch import save_file

    state = model.state_dict()
    tensors = {names[0]: state[names[0]].detach().cpu().contiguous() for names in _tied_names(state)}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    save_file(tensors, str(tmp), metadata={"format": "pt"})
    os.replace(tmp, path)


def load_weights(model: torch.nn.Module, path: Path, strict: bool = True) -> list[str]:
    """Load saved weights into `model`; returns the names missing or unexpected, which `strict` refuses."""
    from safetensors.torch import load_file

    missing, unexpected = model.load_state_dict(load_file(str(path)), strict=False)
    state = model.state_dict()
    loaded = set(state) - set(missing)
    tied = {name for names in _tied_names(state) if loaded & set(names) for name in names}
    wrong = [name for name in missing if name not in tied] + list(unexpected)
    if strict and wrong:
        raise RuntimeError(f"{path} does not fit the model: {', '.join(wrong[:5])}")
    return wrong


def _tied_names(state: dict[str, torch.Tensor]) -> list[list[str]]:
    """The names of a state dict grouped by the tensor they name: a tied weight has several."""
    groups: dict[tuple, list[str]] = {}
    for name, tensor in state.items():
        key = (tensor.device, tensor.data_ptr(), tensor.dtype, tuple(tensor.shape), tensor.stride())
        groups.setdefault(key, []).append(name)
    return list(groups.values())


def save_optimizer(optimizer: torch.optim.Optimizer, path: Path) -> None:
    """Optimizer state as safetensors (tensors) and JSON (the rest): no pickle."""
    from safetensors.torch import save_file

    state = optimizer.state_dict()
    tensors, scalars = {}, {}
    for param_id, slots in state["state"].items():
        for name, value in slots.items():
            if torch.is_tensor(value):
                tensors[f"{param_id}.{name}"] = value.contiguous()
            else:
                scalars[f"{param_id}.{name}"] = value
    tmp = path.with_name(f".{path.name}.tmp")
    save_file(tensors, str(tmp))
    os.replace(tmp, path)
    write_json(path.with_suffix(".json"), {"param_groups": state["param_groups"], "scalars": scalars})


def load_optimizer(optimizer: torch.optim.Optimizer, path: Path) -> None:
    from safetensors.torch import load_file

    meta = json.loads(path.with_suffix(".json").read_text())
    state: dict[int, dict[str, Any]] = {}
    for key, value in [*load_file(str(path)).items(), *meta["scalars"].items()]:
        param_id, name = key.split(".", 1)
        state.setdefault(int(param_id), {})[name] = value
    optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})


def append_history(path: Path, row: dict[str, Any]) -> None:
    new = not path.exists()
    with path.open("a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(row))
        if new:
            writer.writeheader()
        writer.writerow(row)


def read_history(path: Path) -> list[dict[str, float]]:
    if not path.exists():
        return []
    with path.open(newline="") as f:
        return [
            {k: float(v) if v not in ("", None) else float("nan") for k, v in row.items()}
            for row in csv.DictReader(f)
        ]


def require(run_dir: Path, names) -> None:
    """A UserError unless every file in `names` is in `run_dir`."""
    missing = [name for name in names if not (run_dir / name).exists()]
    if missing:
        raise UserError(
            f"{run_dir} is not a complete run directory (missing {', '.join(missing)}); "
            "train it again or point at another run"
        )


def read_config_file(run_dir: Path) -> RunConfig:
    """The config.yaml of a run directory, complete or not (a run being resumed)."""
    import yaml

    return RunConfig.from_dict(
        yaml.safe_load((Path(run_dir) / "config.yaml").read_text()), where=str(run_dir)
    )


def read_config(run_dir: Path) -> RunConfig:
    """The config of a complete run directory, after checking that it is one seqlab can read."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UserError(f"run directory not found: {run_dir}")
    require(run_dir, REQUIRED)
    meta = json.loads((run_dir / "meta.json").read_text())
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        raise UserError(
            f"{run_dir} has run-directory format {version}; this seqlab reads format {FORMAT_VERSION}"
        )
    return read_config_file(run_dir)
