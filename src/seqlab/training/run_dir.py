"""The run directory: everything needed to rebuild and use a model, and nothing unpickled.

config.yaml            the resolved RunConfig (architecture, data and training settings)
meta.json              format version, seqlab version, task, sizes; written last: its
                       presence marks a complete run
tokenizer.json         Hugging Face tokenizer (chars.json: the character vocabulary)
labels.json            label or tag names, index = class id
model.safetensors      the best weights
checkpoints/           the latest checkpoint, for --resume: a folder step-N/ (weights, optimizer state,
                       random state) and last.json (the loop's position), written last, naming it
history.csv            one row per evaluation
metrics.json           final held-out metrics
plots/, report.html    learning curves, confusion matrix, a one-page report
.lock                  while a run writes the folder: its process id, locked, so that no other run can

Every file is written to a temporary name and renamed, so a crash leaves whole files or none.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import io
import json
import os
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import torch

from seqlab.config import FORMAT_VERSION, RunConfig
from seqlab.errors import UserError
from seqlab.files import atomic_write, cannot_write, damaged, failed, read_json, remove_partial, write_json

LOCK = ".lock"
# Settings a resumed run may change: they shape training, not the model's weights
TRAINING_ONLY = ("model.dropout", "model.label_smoothing")


def new_run_dir(name: str, parent: Path = Path("runs")) -> Path:
    """A folder `parent/NAME-TIME` made for this run alone: a run started in the same second by another
    process gets `-2`, `-3` … (creating a folder is atomic, so two runs never share one)."""
    base = parent / f"{name}-{datetime.now():%Y%m%d-%H%M%S}"
    for attempt in range(1, 10_000):
        folder = base if attempt == 1 else base.with_name(f"{base.name}-{attempt}")
        try:
            folder.mkdir(parents=True)
            return folder
        except FileExistsError:
            continue
        except OSError as exc:
            raise UserError(cannot_write(folder, exc)) from None
    raise UserError(f"{parent} holds 10,000 runs named {base.name}; choose an --out")


@contextlib.contextmanager
def claimed(out: Path) -> Iterator[bool]:
    """Hold the folder `out` for one run: create it if need be, and lock the file `out/.lock` (holding the
    process id) until the run ends, however it ends: the system drops a dead process's lock, and a run
    that ends deletes the file. Yields whether this call made `out`; a folder that another run holds is a
    UserError naming that run's process."""
    out = Path(out)
    made = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
        handle = _locked(out / LOCK)
    except OSError as exc:
        raise UserError(cannot_write(out, exc)) from None
    with handle:
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        try:
            yield made
        finally:
            (out / LOCK).unlink(missing_ok=True)  # before the lock goes: a later run makes a new file


def _locked(path: Path) -> io.TextIOWrapper:
    """The file at `path`, opened and locked exclusively. A file deleted by the run that held it before this
    call locked it is left for the new one at `path`."""
    while True:
        handle = open(path, "a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise UserError(
                f"{path.parent} is being written by another seqlab run (process {holder}); wait for it to "
                "end, or choose another --out"
            ) from None
        if path.exists() and os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino:
            return handle
        handle.close()


@contextlib.contextmanager
def held(out: Path, made: bool = False) -> Iterator[Path]:
    """The folder of a comparison or a search: claimed, refused where it holds anything, and deleted
    (emptied, where the user made it) when the work fails on a user's error or a full disk. `made`: the
    caller made `out` (run_dir.new_run_dir)."""
    with claimed(out) as claimed_made:
        ready_to_start(out, resume=False, resumable=False)
        try:
            yield out
        except (UserError, OSError) as exc:
            discard(out, made or claimed_made)
            if isinstance(exc, OSError):
                raise UserError(failed(exc, out)) from None
            raise


def ready_to_start(out: Path, resume: bool, resumable: bool = True) -> bool:
    """Ready the claimed folder `out` for a run: remove what crashed writes left; refuse a finished or
    foreign folder unless resuming; clear a run that stopped before its first checkpoint, which then
    starts again. Returns whether the run resumes from a checkpoint."""
    remove_partial(out)
    contents = [path for path in out.iterdir() if path.name != LOCK]
    if not contents:
        return False
    if not resume:
        advice = ", or pass --resume to continue it" if resumable else ""
        raise UserError(f"{out} already exists; choose another --out{advice}")
    if not (out / "config.yaml").exists():
        raise UserError(f"{out} holds files but no seqlab run (no config.yaml); choose another --out")
    if (out / "checkpoints" / "last.json").exists():
        return True
    clear(out)
    return False


def clear(out: Path, keep: tuple[str, ...] = (LOCK,)) -> None:
    """Delete what a run wrote into `out`, but the names in `keep`."""
    for path in out.iterdir():
        if path.name not in keep:
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)


def discard(out: Path, made: bool) -> None:
    """Delete a run that failed: `out` itself where the run made it, else all it wrote into `out`."""
    shutil.rmtree(out, ignore_errors=True) if made else clear(out, keep=())


def check_resumable(config: RunConfig, saved: RunConfig, out: Path) -> None:
    """A UserError where `config` builds another model than the run in `out` that it would resume."""
    changed = ["task"] if config.task != saved.task else []
    changed += [
        f"model.{key} ({value!r}, saved {getattr(saved.model, key)!r})"
        for key, value in vars(config.model).items()
        if value != getattr(saved.model, key, value) and f"model.{key}" not in TRAINING_ONLY
    ]
    if changed:
        raise UserError(
            f"--resume continues {out} with the model it was built as, and this call changes "
            f"{', '.join(changed)}; drop those settings, or train into another --out"
        )


REQUIRED = ("meta.json", "config.yaml", "model.safetensors")  # and the files of the run's task


def save_weights(model: torch.nn.Module, path: Path) -> None:
    """The weights as safetensors on the CPU, a tied weight once under its first name. (safetensors'
    own save_model refuses the views into one buffer that cuDNN makes of a recurrent layer's weights.)"""

    state = model.state_dict()
    tensors = {names[0]: state[names[0]].detach().cpu().contiguous() for names in _tied_names(state)}
    save_tensors(tensors, path, metadata={"format": "pt"})


def save_tensors(tensors: dict[str, torch.Tensor], path: Path, metadata: dict | None = None) -> None:
    from safetensors.torch import save

    atomic_write(path, save(tensors, metadata=metadata))


def load_weights(model: torch.nn.Module, path: Path, strict: bool = True) -> list[str]:
    """Load saved weights into `model`; returns the names missing or unexpected, which `strict` refuses.
    A file that is not whole safetensors, or holds tensors of other shapes, is a UserError naming it."""
    from safetensors.torch import load_file

    try:
        missing, unexpected = model.load_state_dict(load_file(str(path)), strict=False)
    except FileNotFoundError:
        raise UserError(f"{path} is missing; train the run again, or restore the file") from None
    except Exception as exc:  # safetensors' and torch's errors for a damaged or foreign file
        raise UserError(damaged(path, exc)) from None
    state = model.state_dict()
    loaded = set(state) - set(missing)
    tied = {name for names in _tied_names(state) if loaded & set(names) for name in names}
    wrong = [name for name in missing if name not in tied] + list(unexpected)
    if strict and wrong:
        raise UserError(damaged(path, f"it does not fit the model: {', '.join(wrong[:5])}"))
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
    state = optimizer.state_dict()
    tensors, scalars = {}, {}
    for param_id, slots in state["state"].items():
        for name, value in slots.items():
            if torch.is_tensor(value):
                tensors[f"{param_id}.{name}"] = value.contiguous()
            else:
                scalars[f"{param_id}.{name}"] = value
    save_tensors(tensors, path)
    write_json(path.with_suffix(".json"), {"param_groups": state["param_groups"], "scalars": scalars})


def load_optimizer(optimizer: torch.optim.Optimizer, path: Path) -> None:
    from safetensors.torch import load_file

    meta = json.loads(path.with_suffix(".json").read_text())
    state: dict[int, dict[str, Any]] = {}
    for key, value in [*load_file(str(path)).items(), *meta["scalars"].items()]:
        param_id, name = key.split(".", 1)
        state.setdefault(int(param_id), {})[name] = value
    optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})


def write_history(path: Path, rows: list[dict[str, Any]]) -> None:
    """history.csv, whole: one row per evaluation."""
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list({key: None for row in rows for key in row}))
    writer.writeheader()
    writer.writerows(rows)
    atomic_write(path, text.getvalue())


def read_history(path: Path) -> list[dict[str, float]]:
    """history.csv's rows, numbers (whole numbers as int; a blank as NaN)."""
    if not path.exists():
        return []
    try:
        with path.open(newline="", encoding="utf-8") as f:
            return [{k: _number(v) for k, v in row.items()} for row in csv.DictReader(f)]
    except (ValueError, TypeError, UnicodeDecodeError, csv.Error) as exc:
        raise UserError(damaged(path, exc)) from None


def _number(text: str | None) -> float:
    if text in ("", None):
        return float("nan")
    assert text is not None
    return int(text) if text.lstrip("-").isdigit() else float(text)


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

    path = Path(run_dir) / "config.yaml"
    try:
        raw = yaml.safe_load(path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:  # a !!python tag too: never executed
        raise UserError(damaged(path, exc)) from None
    return RunConfig.from_dict(raw, where=str(path))


def read_config(run_dir: Path) -> RunConfig:
    """The config of a complete run directory, after checking that it is one seqlab can read."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UserError(f"run directory not found: {run_dir}")
    require(run_dir, REQUIRED)
    meta = read_json(run_dir / "meta.json")
    version = meta.get("format_version") if isinstance(meta, dict) else None
    if version != FORMAT_VERSION:
        raise UserError(
            f"{run_dir} has run-directory format {version}; this seqlab reads format {FORMAT_VERSION}"
        )
    return read_config_file(run_dir)
