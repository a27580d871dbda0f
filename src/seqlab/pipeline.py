"""From config to a trained run directory, and from a run directory back to a usable model.

`fit` is what `seqlab train` and every estimator's `fit` call; `load` is what `seqlab eval`,
`predict` and `generate` (and `seqlab.load`) call. The CLI and the Python API share them.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

import torch

from seqlab import __version__
from seqlab.budget import apply_budget_rule
from seqlab.config import FORMAT_VERSION, RunConfig
from seqlab.data.datasets import load_splits
from seqlab.data.inputs import kind_of
from seqlab.data.series import fitting_lookback
from seqlab.data.vectors import Vectors, load_vectors
from seqlab.errors import UserError
from seqlab.files import atomic_write, failed, read_json, write_json
from seqlab.generation import GenerationConfig
from seqlab.model import Ensemble, SequenceModel, build_model
from seqlab.registry import ENCODERS, INPUTS, TASKS
from seqlab.tasks import Task, task_type
from seqlab.training import run_dir as rd
from seqlab.training.hardware import Processes, autocast_factory, pick_device, use_bf16
from seqlab.training.loop import LoopState, train


@dataclass
class Pipeline:
    """A trained model with its task: everything needed to predict, evaluate and generate."""

    config: RunConfig
    task: Task
    model: SequenceModel | Ensemble
    run_dir: Path | None = None
    bf16: bool = False
    main_process: bool = True  # False in the other processes of a torchrun training

    @property
    def autocast(self):
        return autocast_factory(torch.device("cpu"), self.bf16)

    @property
    def batch_size(self) -> int:
        return self.config.train.batch_size

    # -- use ----------------------------------------------------------------------------------

    def predict(self, records: list) -> list:
        """What the model makes of every record: a label and its probabilities, tags, a translation,
        a transcript, a forecast … as its task predicts."""
        return self.task.predict(self, prepare(self.config, records))

    def evaluate(self, records: list, decoding: GenerationConfig | None = None) -> dict[str, float]:
        """The task's metrics on labelled records; `decoding`: how a model that writes text decodes
        (greedy by default)."""
        examples = self.task.encode(prepare(self.config, records))
        if decoding is None:
            return self.task.evaluate(self.model, examples, self.batch_size, self.autocast)
        if not self.task.decodes:
            raise UserError(
                f"decoding settings are for models that write text; this run is task {self.config.task}"
            )
        evaluate: Callable[..., dict[str, float]] = self.task.evaluate  # a decoding task's takes the settings
        return evaluate(self.model, examples, self.batch_size, self.autocast, decoding.check())

    def __getattr__(self, name: str):
        """The task's own verbs (translate, generate, forecast, transcribe …) as methods of the pipeline."""
        if name.startswith("_") or "task" not in self.__dict__:
            raise AttributeError(name)
        return self.verb(name)

    def verb(self, name: str, what: str | None = None):
        """The task's verb `name`, bound to this pipeline. A UserError, naming `what` (the verb, or the
        command that needs it), where this run's task does not offer it."""
        if name in self.task.verbs:
            return functools.partial(getattr(self.task, name), self)
        offered_by = [task_name for task_name, task_class in TASKS.items() if name in task_class.verbs]
        if not offered_by:
            raise AttributeError(f"a {self.config.task} pipeline has no attribute '{name}'")
        if self.config.task in offered_by:  # the task's own class for this input kind (captions of images)
            kind = self.config.data.input
            raise UserError(
                f"{what or name} is not offered by a {self.config.task} model of data.input={kind}"
            )
        raise UserError(
            f"{what or name} needs a model of task {' or '.join(offered_by)}; "
            f"this run is task {self.config.task}"
        )


def prepare(config: RunConfig, records: list) -> list:
    """Records as the model reads them, readied by the run's input kind (audio into frames, DNA cleaned)."""
    kind = kind_of(config.data)
    return kind.prepare(records, config.data) if kind.prepare is not None else records


def fit(
    config: RunConfig,
    out: str | Path | None = None,
    splits: dict[str, list] | None = None,
    resume: bool = False,
    on_evaluate=None,
) -> Pipeline:
    """Train a model as `config` says and write its run directory; returns the trained pipeline.
    `on_evaluate(step, metrics)` hears every validation result of the loop."""
    device = pick_device()
    processes = Processes.start(device)
    t = config.train
    if t.threads or t.deterministic:  # a CPU run's numbers depend on its thread count: docs/reliability.md
        torch.set_num_threads(t.threads or 1)
    torch.manual_seed(t.seed)
    # setting it imports torch's compiler (2.6 s here), so only when it changes
    if t.deterministic or torch.are_deterministic_algorithms_enabled():
        torch.use_deterministic_algorithms(t.deterministic)
    with contextlib.ExitStack() as hold:
        out, made, resume = _claim(config, out, resume, processes, hold)
        try:
            return _fit(config, out, splits, resume, on_evaluate, device, processes)
        except (UserError, OSError) as exc:  # bad input or a full disk: nothing half-written stays
            if processes.main and not resume:
                rd.discard(out, made)
            if isinstance(exc, OSError):
                raise UserError(failed(exc, out)) from None
            raise


def _claim(
    config: RunConfig, out: str | Path | None, resume: bool, processes: Processes, hold: contextlib.ExitStack
) -> tuple[Path, bool, bool]:
    """The run directory, held by the main process until the run ends (see run_dir.claimed); whether this
    run made it; whether the run resumes from a checkpoint. Every process learns the main one's answers."""
    answer: tuple[str, Path | None, bool, bool] = ("", None, False, False)
    if processes.main:
        try:
            folder = Path(out) if out else rd.new_run_dir(f"{config.task}-{config.model.encoder}")
            made = hold.enter_context(rd.claimed(folder)) or not out
            answer = ("", folder, made, rd.ready_to_start(folder, resume))
        except UserError as exc:
            answer = (str(exc), None, False, False)
    problem, folder, made, resume = processes.broadcast(answer)
    if problem:
        raise UserError(problem)
    assert folder is not None
    return folder, made, resume


def _fit(
    config: RunConfig,
    out: Path,
    splits: dict[str, list] | None,
    resume: bool,
    on_evaluate,
    device: torch.device,
    processes: Processes,
) -> Pipeline:
    t = config.train
    splits = splits if splits is not None else load_splits(config.task, config.data)
    if config.data.lookback is None and TASKS[config.task].records == "series":  # splits given whole
        config.data.lookback = fitting_lookback(splits["train"], 0.0, 0.0, config.data.horizon, least=1)
    resolve_input(config, splits["train"])
    saved = rd.read_config_file(out) if resume else None
    budget_rule = apply_budget_rule(config, saved)
    splits = {name: prepare(config, records) for name, records in splits.items()}
    task_class = task_type(config)
    init = Path(t.init_from) if t.init_from else None
    if resume:
        task = task_class.load(config, out)
    elif init is not None:
        task = _task_from_init(task_class, config, init, splits["train"])
    else:
        task = task_class(config)
        task.fit(splits["train"])
    encoded = {split: task.encode(records) for split, records in splits.items()}
    batches = task.num_batches(encoded["train"], t.batch_size) // processes.world
    if batches < t.accumulate:
        raise UserError(
            f"the training data fills {batches} batch(es) per process, fewer than "
            f"train.accumulate={t.accumulate}; lower train.batch_size or train.accumulate"
        )
    if t.tensorboard and importlib.util.find_spec("tensorboard") is None:
        raise UserError(
            "train.tensorboard=true needs the tensorboard package: pip install 'seqlab[tensorboard]'"
        )
    vectors = _word_vectors(config, config.model.embeddings) if config.model.embeddings else None
    model = build_model(config, **task.model_sizes()).to(device)
    embeddings = None if vectors is None or resume else _start_embeddings(model, task, vectors)
    if init is not None and not resume:
        _load_matching(model, init / "model.safetensors")

    bf16 = use_bf16(t.precision, device, recurrent=ENCODERS[config.model.encoder].recurrent)
    autocast = autocast_factory(device, bf16)
    if saved is not None:
        rd.check_resumable(config, saved, out)
    if processes.main:
        atomic_write(out / "config.yaml", config.to_yaml())
        task.save(out)
    started = time.monotonic()
    state = train(
        model, task, encoded["train"], encoded["val"], t, out, autocast, processes, resume, on_evaluate
    )

    processes.barrier()  # the main process has written the best weights
    rd.load_weights(model, out / "model.safetensors")
    if task.calibrate(model, encoded["val"], t.batch_size, autocast) and processes.main:
        task.save(out)
    held_out = "test" if "test" in encoded else "val"
    final = task.evaluate(model, encoded[held_out], t.batch_size, autocast)
    checksums = processes.gather(sum(p.detach().double().sum().item() for p in model.parameters()))
    if processes.main:
        write_json(out / "metrics.json", {**final, "split": held_out})
        baseline = task.baseline(encoded["train"], encoded[held_out])
        if baseline is not None:
            write_json(out / "baseline.json", {**baseline, "split": held_out})
        for name, content in task.artifacts(model, encoded[held_out], t.batch_size, autocast).items():
            write_json(out / name, content)
        seconds = time.monotonic() - started
        _write_meta(
            out, config, model, state, splits, held_out, bf16, seconds, checksums, budget_rule, embeddings
        )
        from seqlab import reporting

        reporting.write_report(out)
    processes.finish()  # every process returns once the run directory is complete
    return Pipeline(config, task, model.cpu(), out, bf16, main_process=processes.main)


def resolve_input(config: RunConfig, train: list) -> None:
    """data.input=auto: the kind of input whose records the training data holds (audio, numbers), if
    any; and the kind's own tokenizer where the run's cannot read it (DNA in nucleotides, unless in
    k-mers)."""
    d = config.data
    if d.input == "auto":
        d.input = next(
            (name for name, kind in INPUTS.items() if kind.holds is not None and kind.holds(train)), "auto"
        )
    own, task = kind_of(d).tokenizers, TASKS[config.task]
    if own and d.tokenizer not in own and own[0] in task.tokenizers:
        d.tokenizer = own[0]


def load(run_dir: str | Path) -> Pipeline:
    """The trained pipeline saved in `run_dir`."""
    run_dir = Path(run_dir)
    config = rd.read_config(run_dir)
    rd.require(run_dir, task_type(config).files)
    task = task_type(config).load(config, run_dir)
    model = build_model(config, **task.model_sizes())
    rd.load_weights(model, run_dir / "model.safetensors")
    meta = read_json(run_dir / "meta.json")
    return Pipeline(config, task, model.eval(), run_dir, bool(meta.get("bf16")))


# Data settings that change only how training draws its examples: the runs of an ensemble may differ in them.
AUGMENTATIONS = ("transpose", "reverse_complement", "spec_augment")


def load_ensemble(run_dirs: Sequence[str | Path]) -> Pipeline:
    """One pipeline over several runs of a task trained on the same data (with other seeds, encoders,
    sizes or augmentations): it averages their predictive distributions (`Ensemble`) wherever it
    predicts or scores."""
    pipelines = [load(r) for r in run_dirs]
    first = pipelines[0]
    for other in pipelines[1:]:
        if other.config.task != first.config.task:
            raise UserError(
                f"an ensemble needs runs of one task; {first.run_dir} is {first.config.task} and "
                f"{other.run_dir} is {other.config.task}"
            )
        differing = [
            f"data.{k}"
            for k, v in vars(first.config.data).items()
            if getattr(other.config.data, k) != v and k not in AUGMENTATIONS
        ]
        differing += [
            f
            for f in first.task.files
            if Path(str(other.run_dir), f).read_bytes() != Path(str(first.run_dir), f).read_bytes()
        ]
        differing += (
            ["model.quantiles"] if other.config.model.quantiles != first.config.model.quantiles else []
        )
        if differing:
            raise UserError(
                f"an ensemble needs runs trained on the same data for the same outputs; "
                f"{other.run_dir} differs from {first.run_dir} in {', '.join(differing)}"
            )
    heads = [p.model.head for p in pipelines]
    if not hasattr(heads[0], "mixture") or any(
        type(h) is not type(heads[0]) or getattr(h, "crf", None) for h in heads
    ):
        raise UserError(
            f"{first.config.task} runs of this kind cannot be averaged; ensembles take classify, tag "
            "(without a CRF), lm (tokens, or pitches without a NADE) and forecast runs"
        )
    return replace(
        first, model=Ensemble([p.model for p in pipelines]).eval(), bf16=all(p.bf16 for p in pipelines)
    )


def _task_from_init(task_class: type[Task], config: RunConfig, init: Path, train_records: list) -> Task:
    """Reuse the tokenizer and encoder sizes of the run that the encoder comes from, and learn the new
    labels. A `model.bidirectional=true` given beside a language model keeps its forward direction's first
    layer and learns the rest (a tagger reads both sides)."""
    source = rd.read_config(init)
    for key in ("tokenizer", "lowercase", "vocab_size"):
        setattr(config.data, key, getattr(source.data, key))
    for key in ("encoder", "embed_dim", "hidden_size", "num_layers", "num_heads", "ff_mult", "positions"):
        setattr(config.model, key, getattr(source.model, key))
    if "model.bidirectional" not in config.given:
        config.model.bidirectional = source.model.bidirectional
    task = task_class(config)
    task.fit(train_records)
    task.tokenizer = task_class.load(source, init).tokenizer
    return task


def _word_vectors(config: RunConfig, name: str) -> Vectors:
    """The vectors `name` (model.embeddings), whose width becomes model.embed_dim."""
    m = config.model
    if config.data.tokenizer != "word":
        raise UserError(
            f"model.embeddings gives vectors of words; data.tokenizer={config.data.tokenizer} makes other "
            "tokens: use data.tokenizer=word"
        )
    vectors = load_vectors(name)
    if "model.embed_dim" in config.given and m.embed_dim != vectors.dim:
        raise UserError(
            f"model.embeddings={m.embeddings} holds {vectors.dim}-wide vectors, and model.embed_dim="
            f"{m.embed_dim}: leave model.embed_dim unset or make it {vectors.dim}"
        )
    m.embed_dim = vectors.dim
    return vectors


def _start_embeddings(model: SequenceModel, task: Task, vectors: Vectors) -> dict:
    """Copy the vector of every vocabulary word found into the token embedding; what was found."""
    embedding = getattr(model.adapter, "embed", None)
    if not isinstance(embedding, torch.nn.Embedding) or task.tokenizer is None:
        raise UserError(f"task {task.name} reads no word embedding that model.embeddings could start")
    found, ids = vectors.rows_for(task.tokenizer.backend.get_vocab(), embedding.num_embeddings)
    with torch.no_grad():
        embedding.weight[torch.from_numpy(ids)] = torch.from_numpy(found).to(embedding.weight.dtype)
    vocabulary = embedding.num_embeddings
    return {"vectors": task.config.model.embeddings, "found": len(ids), "vocabulary": vocabulary}


def _load_matching(model: SequenceModel, weights: Path) -> None:
    """Copy every tensor whose name and shape match (the adapter and encoder); the head stays new."""
    from safetensors.torch import load_file

    own = model.state_dict()
    matched = {
        k: v
        for k, v in load_file(str(weights)).items()
        if k in own and own[k].shape == v.shape and not k.startswith("head.")
    }
    if not any(k.startswith("encoder.") for k in matched):
        raise UserError(
            f"no encoder weights of {weights.parent} fit this model; train.init_from needs the "
            "same encoder, sizes and tokenizer"
        )
    model.load_state_dict(matched, strict=False)


def _write_meta(
    out: Path,
    config: RunConfig,
    model,
    state: LoopState,
    splits,
    held_out: str,
    bf16: bool,
    seconds: float,
    checksums: list[float],
    budget_rule: dict,
    embeddings: dict | None,
) -> None:
    sizes = {
        s: (len(r[0]) if isinstance(r[0], str) else len(r)) for s, r in splits.items()
    }  # text: characters
    write_json(
        out / "meta.json",
        {
            "format_version": FORMAT_VERSION,
            "seqlab_version": __version__,
            "task": config.task,
            "encoder": config.model.encoder,
            "parameters": sum(p.numel() for p in {id(p): p for p in model.parameters()}.values()),
            "split_sizes": sizes,
            "metrics_split": held_out,
            "bf16": bf16,
            "steps": state.step,
            "epochs": state.epoch,
            "items_seen": state.items_seen,
            "stopped_by": state.stopped_by,
            "train_seconds": round(seconds, 2),
            "processes": len(checksums),
            "budget_rule": budget_rule,  # the keys the budget rule set, and their values
            "embeddings": embeddings,  # model.embeddings: the vectors and how many words they held
            "replica_checksums": checksums,
            "torch": torch.__version__,
            "machine": f"{platform.machine()} {os.cpu_count()} cores",
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        },
    )
