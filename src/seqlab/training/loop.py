"""The training loop, readable in one sitting.

Every optimizer step: forward and backward over `accumulate` micro-batches, gradients divided by
the number of items the losses covered (over all processes), clipped, AdamW with warmup+cosine.
Evaluation: once per epoch or every `eval_every` steps; the best weights by the task's validation
metric go to `model.safetensors`, the latest state to `checkpoints/` for `--resume` (after every
evaluation and every `checkpoint_minutes` of training). A resumed run restores the random state too, so
that it goes on as the uninterrupted run would have. With `ema`, the weights validated and kept are an
exponential moving average of the trained ones (Polyak averaging).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import math
import shutil
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn

from seqlab.config import TrainConfig
from seqlab.errors import UserError
from seqlab.files import read_json, write_json
from seqlab.heads import mean_loss
from seqlab.metrics import LOWER_IS_BETTER
from seqlab.tasks import Task
from seqlab.training import run_dir as rd
from seqlab.training.hardware import Processes
from seqlab.training.optim import learning_rate, make_optimizer

# Step and evaluation lines: always in the run's train.log; on the terminal where the CLI's -v asks.
LOG = logging.getLogger("seqlab.train")
EVALUATIONS = 8  # validations within a time budget when train.eval_every is unset (and one at the end)


@dataclass
class LoopState:
    """Where the loop is; saved with every checkpoint so that --resume continues exactly here."""

    step: int = 0
    epoch: int = 0
    batches_done: int = 0  # micro-batches already taken in the current epoch
    best: float | None = None
    evals_since_best: int = 0
    seconds: float = 0.0
    eval_seconds: float = 0.0  # the part of `seconds` spent on validation and checkpoints
    items_seen: int = 0  # tokens (tag, lm) or examples (classify) trained on
    stopped_by: str = ""
    history: list[dict] = field(default_factory=list)


def train(
    model: nn.Module,
    task: Task,
    train_data,
    val_data,
    config: TrainConfig,
    out: Path,
    autocast,
    processes: Processes,
    resume: bool = False,
    on_evaluate: Callable[[int, dict[str, float]], None] | None = None,
) -> LoopState:
    """Train `model` in place; returns the final loop state. Only the main process writes files.

    `on_evaluate(step, metrics)` hears every validation result (a search prunes weak trials there)."""
    net = model
    if processes.world > 1:
        net = nn.parallel.DistributedDataParallel(model)
    optimizer = make_optimizer(model, config.lr, config.weight_decay)
    averaged = _averaged(model, config.ema)
    state = LoopState()
    if resume:
        state = _restore(model, optimizer, averaged, out)

    micro_per_epoch = task.num_batches(train_data, config.batch_size) // processes.world  # >= accumulate
    total_steps = config.max_steps or config.epochs * (micro_per_epoch // config.accumulate)
    # warmup: a share of training, or (>= 1) steps; within a time budget, steps are counted as such, since
    # the share of the run they make is unknown until it ends
    warmup_steps = config.warmup if config.warmup >= 1 and config.max_minutes else 0
    warmup = 0.0 if warmup_steps else config.warmup if config.warmup < 1 else config.warmup / total_steps
    budget = config.max_minutes * 60 if config.max_minutes else math.inf
    # without train.eval_every and with a time budget: an evaluation after every eighth of it spent
    # training, or after four times the last evaluation's time where that is longer (validation takes at
    # most a fifth of the budget); without a time budget, once per epoch
    timed_evaluations = not config.eval_every and budget < math.inf
    next_evaluation = budget / EVALUATIONS  # seconds of training, evaluations not counted
    checkpoint_seconds = config.checkpoint_minutes * 60 or math.inf
    last_checkpoint = time.monotonic()
    progress = Progress(total_steps, config.log_every, enabled=processes.main)
    log_file = _log_to(out / "train.log") if processes.main else None
    writer = _tensorboard(out) if config.tensorboard and processes.main else None
    started = time.monotonic() - state.seconds
    # Sums on the device since the last evaluation, read only when reported: a step that reads a
    # number from a GPU waits for it, and the GPU then waits for the next step's launches.
    train_loss, train_count, unread_items = 0.0, 0, 0

    def settle() -> None:
        """Wait for the device's queued steps; count their items and their time."""
        nonlocal unread_items
        state.items_seen += int(unread_items)
        unread_items = 0
        state.seconds = time.monotonic() - started

    def checkpoint() -> None:
        nonlocal last_checkpoint
        if processes.main:
            _checkpoint(model, optimizer, averaged, out, state)
        last_checkpoint = time.monotonic()

    def evaluate() -> None:
        nonlocal train_loss, train_count, next_evaluation
        settle()
        evaluation_started = time.monotonic()
        kept = model if averaged is None else averaged.module
        metrics = _evaluate(
            kept,
            task,
            val_data,
            config,
            out,
            autocast,
            processes,
            state,
            float(mean_loss(train_loss, train_count)),
            optimizer.param_groups[0]["lr"],
            writer,
        )
        checkpoint()
        train_loss, train_count = 0.0, 0
        took = time.monotonic() - evaluation_started
        next_evaluation = state.seconds - state.eval_seconds + max(budget / EVALUATIONS, 4 * took)
        state.eval_seconds += took
        if on_evaluate is not None:
            on_evaluate(state.step, metrics)

    if state.step >= total_steps:  # a resumed run that had reached its limits: nothing more to train
        state.stopped_by = "steps"
    elif state.seconds >= budget:
        state.stopped_by = "time budget"
    try:
        while not state.stopped_by:
            generator = torch.Generator().manual_seed(config.seed * 1000 + state.epoch)
            batches = itertools.islice(
                task.batches(train_data, config.batch_size, generator),
                processes.rank,
                micro_per_epoch * processes.world,
                processes.world,
            )
            batches = itertools.islice(batches, state.batches_done, None)
            while not state.stopped_by:
                micro = [b for _, b in itertools.islice(batches, config.accumulate)]
                if len(micro) < config.accumulate:
                    break
                done = max((state.step + 1) / total_steps, (time.monotonic() - started) / budget)
                rate = learning_rate(config.lr, done, warmup)
                if warmup_steps:
                    rate *= min(1.0, (state.step + 1) / warmup_steps)
                for group in optimizer.param_groups:
                    group["lr"] = rate
                net.train()
                loss_sum, count = _accumulate(net, micro, autocast)
                global_count = processes.sum(count)
                _scale_gradients(model, processes.world / global_count.clamp(min=1))
                if config.grad_clip:
                    nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                if averaged is not None:
                    averaged.update_parameters(model)

                state.step += 1
                state.batches_done += len(micro)
                unread_items = unread_items + global_count
                state.seconds = time.monotonic() - started
                train_loss, train_count = train_loss + loss_sum, train_count + count
                progress.update(
                    state,
                    done,
                    lambda: float(mean_loss(train_loss, train_count)),
                    optimizer.param_groups[0]["lr"],
                )
                out_of_time = state.seconds >= budget
                due = (
                    state.seconds - state.eval_seconds >= next_evaluation
                    if timed_evaluations
                    else bool(config.eval_every) and state.step % config.eval_every == 0
                )
                if processes.world > 1 and budget < math.inf:  # the main process's clock decides for all
                    out_of_time, due = processes.broadcast((out_of_time, due))
                if state.step >= total_steps:
                    state.stopped_by = "steps"
                elif out_of_time:
                    state.stopped_by = "time budget"
                if state.stopped_by or due:
                    evaluate()
                elif time.monotonic() - last_checkpoint >= checkpoint_seconds:
                    evaluation_started = time.monotonic()
                    settle()
                    checkpoint()
                    state.eval_seconds += time.monotonic() - evaluation_started
            if not state.stopped_by:
                state.epoch += 1
                state.batches_done = 0
                if not config.eval_every and not timed_evaluations:
                    evaluate()
        settle()
    finally:
        progress.close()
        if log_file is not None:
            LOG.removeHandler(log_file)
            log_file.close()
        if writer is not None:
            writer.close()
    return state


class _LogFile(logging.FileHandler):
    """A log file whose write errors (a full disk) stop the run as every other write's do, rather than
    print a traceback and go on."""

    def handleError(self, record: logging.LogRecord) -> None:
        raise


def _log_to(path: Path) -> logging.Handler:
    """Send the loop's lines to `path` (appended: a resumed run goes on in the same file)."""
    handler = _LogFile(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(message)s"))
    LOG.addHandler(handler)
    LOG.setLevel(logging.INFO)
    return handler


def _accumulate(net: nn.Module, micro: list, autocast) -> tuple[torch.Tensor, torch.Tensor]:
    """Forward and backward over micro-batches; gradients hold the sum of the item losses. Returns
    the loss sum and the item count as tensors on the model's device, unread."""
    loss_sum, count = 0.0, 0
    for i, batch in enumerate(micro):
        last = i == len(micro) - 1
        sync = contextlib.nullcontext() if last or not hasattr(net, "no_sync") else net.no_sync()
        with sync:
            with autocast():
                out = net(batch)
            out.loss_sum.backward()
        loss_sum = loss_sum + out.loss_sum.detach().float()
        count = count + out.count.to(out.loss_sum.device)
    return loss_sum, count


def _scale_gradients(model: nn.Module, factor: torch.Tensor) -> None:
    """Turn summed gradients into the gradient of the mean loss over all items of the step."""
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    if grads:
        torch._foreach_mul_(grads, factor.to(grads[0].dtype))


def _averaged(model: nn.Module, decay: float) -> torch.optim.swa_utils.AveragedModel | None:
    """A copy of `model` whose parameters follow an exponential moving average of its own, or None."""
    if not decay:
        return None
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay))


def _evaluate(
    model,
    task: Task,
    val_data,
    config: TrainConfig,
    out: Path,
    autocast,
    processes: Processes,
    state: LoopState,
    train_loss: float,
    lr: float,
    writer,
) -> dict[str, float]:
    """Validate `model`, record the row in history.csv, and keep its weights when they are the best yet."""
    metrics = task.evaluate(model, val_data, config.batch_size, autocast)
    if config.monitor is None:
        name, higher_is_better = task.primary_metric, task.higher_is_better
    else:
        name, higher_is_better = config.monitor, config.monitor not in LOWER_IS_BETTER
    if name not in metrics:
        raise UserError(
            f"train.monitor={name} is not a validation metric of this task ({', '.join(metrics)})"
        )
    value = metrics[name]
    improved = state.best is None or (value > state.best if higher_is_better else value < state.best)
    if improved:
        state.best, state.evals_since_best = value, 0
    else:
        state.evals_since_best += 1
        if config.patience is not None and state.evals_since_best > config.patience:
            state.stopped_by = state.stopped_by or "early stopping"
    row = {
        "step": state.step,
        "epoch": state.epoch,
        "seconds": round(state.seconds, 3),
        "eval_seconds": round(state.eval_seconds, 3),
        "items_seen": state.items_seen,
        "lr": lr,
        "train_loss": train_loss,
        **{f"val_{k}": v for k, v in metrics.items()},
    }
    state.history.append(row)
    if processes.main:
        rd.write_history(out / "history.csv", state.history)
        if improved:
            rd.save_weights(model, out / "model.safetensors")
        LOG.info(
            f"eval step {state.step}: "
            + " ".join(f"{k} {v:.4g}" for k, v in metrics.items())
            + (" (best)" if improved else "")
        )
        if writer is not None:
            for k, v in row.items():
                writer.add_scalar(k, v, state.step)
    return metrics


def _checkpoint(model, optimizer, averaged, out: Path, state: LoopState) -> None:
    """Write the state into a new folder, then last.json naming it, then delete the older folder: a crash
    at any moment leaves last.json naming a whole checkpoint (or no last.json at all)."""
    checkpoints = out / "checkpoints"
    name = f"step-{state.step:07d}"
    folder = checkpoints / name
    rd.save_weights(model, folder / "weights.safetensors")
    rd.save_optimizer(optimizer, folder / "optimizer.safetensors")
    if averaged is not None:
        rd.save_weights(averaged, folder / "ema.safetensors")
    rd.save_tensors({"cpu": torch.get_rng_state()}, folder / "random.safetensors")
    position = {k: v for k, v in asdict(state).items() if k != "history"}
    write_json(checkpoints / "last.json", {**position, "folder": name})
    for older in checkpoints.glob("step-*"):
        if older.name != name:
            shutil.rmtree(older, ignore_errors=True)


def _restore(model, optimizer, averaged, out: Path) -> LoopState:
    """The loop state of the checkpoint that checkpoints/last.json names, its weights, optimizer state and
    random state loaded; history.csv cut back to its step. Another folder a crash left is deleted."""
    from safetensors.torch import load_file

    checkpoints = out / "checkpoints"
    saved = read_json(checkpoints / "last.json")
    name = saved.pop("folder", None)
    if name is None:
        raise UserError(f"{out} was checkpointed by an older seqlab; train it again to resume it")
    for other in checkpoints.glob("step-*"):
        if other.name != name:
            shutil.rmtree(other, ignore_errors=True)
    folder = checkpoints / name
    rd.load_weights(model, folder / "weights.safetensors")
    rd.load_optimizer(optimizer, folder / "optimizer.safetensors")
    if averaged is not None:
        if not (folder / "ema.safetensors").exists():
            raise UserError(f"{out} was trained without train.ema; resume it with train.ema=0")
        rd.load_weights(averaged, folder / "ema.safetensors")
    elif (folder / "ema.safetensors").exists():
        warnings.warn(
            f"{out} kept an average of its weights (train.ema); resuming with train.ema=0 drops it, "
            "and validation judges the raw weights from here"
        )
    torch.set_rng_state(load_file(str(folder / "random.safetensors"))["cpu"])
    saved["stopped_by"] = ""  # a resumed run goes on to the (possibly raised) limits of this call
    history = [row for row in rd.read_history(out / "history.csv") if row["step"] <= saved["step"]]
    rd.write_history(out / "history.csv", history)
    return LoopState(**saved, history=history)


def _tensorboard(out: Path):
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter(str(out / "tensorboard"))


class Progress:
    """A progress bar with the time remaining on a terminal (by steps or by the time budget, whichever
    ends training first), and a log line every `every` steps."""

    def __init__(self, total: int, every: int, enabled: bool = True):
        self.total, self.every, self.enabled = total, every, enabled
        self.bar = None
        if enabled and sys.stderr.isatty():
            from rich.progress import BarColumn, TextColumn, TimeRemainingColumn
            from rich.progress import Progress as Bar

            self.bar = Bar(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.fields[info]}"),
                TimeRemainingColumn(),
                transient=True,
            )
            self.bar.start()
            self.task = self.bar.add_task("train", total=1.0, info="")

    def update(self, state: LoopState, done: float, loss: Callable[[], float], lr: float) -> None:
        """`done`: the share of training behind; `loss()` reads the running training loss, waiting for
        the device: called only to show it."""
        if not self.enabled:
            return
        logged = state.step % self.every == 0 or state.step == 1
        if self.bar is None and not logged:
            return
        info = f"epoch {state.epoch + 1} loss {loss():.4f} lr {lr:.2e}"
        if self.bar is not None:
            self.bar.update(self.task, completed=min(done, 1.0), info=info)
        if logged:
            rate = state.step / max(state.seconds, 1e-9)
            LOG.info(f"step {state.step}/{self.total} {info} {rate:.1f} steps/s")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
