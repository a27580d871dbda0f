"""`seqlab export`: a trained run as ONNX graphs and the files that describe them, which `seqlab.runtime`
runs with ONNX Runtime alone, without PyTorch.

An export directory holds:

    export.json     what each graph takes and gives (names, element types, axes), the run's config, its
                    labels and CRF, the seqlab and opset versions, and the largest difference from
                    PyTorch measured at export
    forward.onnx    every task: the `Batch` input fields the task fills (`inputs`, `mask`, `chars` …) →
                    `logits`, the head's output, with dynamic batch and length axes
    prefill.onnx    a language model: prompt ids (B, T) → the last position's logits (B, V) and the state
                    (an RNN's hidden state, a transformer's KV cache, a TCN's past frames), flattened
    step.onnx       a language model: one token per row (B, 1) and the state → logits (B, V), next state
    tokenizer.json, labels.json …   the run's own files, as the task lists them

The graphs are traced (`torch.onnx.export(dynamo=False)`) on a padded batch of real examples, so the
branches a traced model takes on padding are the general ones.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from seqlab import __version__
from seqlab.data.batch import Batch
from seqlab.data.datasets import load_splits
from seqlab.data.inputs import kind_of
from seqlab.errors import UserError
from seqlab.files import write_json
from seqlab.pipeline import prepare
from seqlab.registry import ENCODERS

EXPORT_FORMAT = 1
OPSET = 17
OPTIONAL_FILES = ("chars.json",)  # a run's files that its task writes only with some settings
TOLERANCE = 1e-4  # the largest absolute difference from PyTorch an export may show, in fp32 logits

# Each input field of a `Batch`, by the axes that vary from call to call (the others are the model's).
FIELD_AXES: dict[str, tuple[str, ...]] = {
    "inputs": ("batch", "length"),
    "mask": ("batch", "length"),
    "chars": ("batch", "length", "word_length"),
    "spans": ("batch",),
    "copy_ids": ("batch", "length"),
    "speakers": ("batch",),
    "future": ("batch",),
    "loc": ("batch",),
    "scale": ("batch",),
    "target_inputs": ("batch", "target_length"),
    "target_mask": ("batch", "target_length"),
}


class Forward(nn.Module):
    """The model as a graph of plain tensors: `fields` of a Batch in, the head's logits out."""

    def __init__(self, model: nn.Module, fields: list[str]):
        super().__init__()
        self.model, self.fields = model, fields

    def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
        return self.model(Batch(**dict(zip(self.fields, tensors)))).logits


class Step(nn.Module):
    """A language model's step: ids (B, T) and the flattened state (none for a prompt) → the last logits
    (B, V) and the next state, flattened."""

    def __init__(self, model: nn.Module, layout):
        super().__init__()
        self.model, self.layout = model, layout

    def forward(self, ids: torch.Tensor, *state: torch.Tensor):
        batch = Batch(inputs=ids, mask=torch.ones_like(ids, dtype=torch.bool))
        out = self.model(batch, unflatten(list(state), self.layout) if state else None)
        return (out.logits[:, -1], *flatten(out.state))


def flatten(state) -> list[torch.Tensor]:
    """A state's tensors (nested in lists and tuples) in order."""
    if isinstance(state, (list, tuple)):
        return [t for part in state for t in flatten(part)]
    return [state]


def layout_of(state):
    """The nesting of a state: a tensor is None, a list or tuple the layouts of its parts."""
    if isinstance(state, (list, tuple)):
        return type(state)(layout_of(part) for part in state)
    return None


def unflatten(tensors: list[torch.Tensor], layout):
    """The state `flatten` made `tensors` of, nested as `layout` says (consumes `tensors`)."""
    if layout is None:
        return tensors.pop(0)
    return type(layout)(unflatten(tensors, part) for part in layout)


# -- the export ----------------------------------------------------------------------------------


def export(pipeline, out: Path, records: list | None = None) -> dict:
    """Write `pipeline`'s graphs and files to `out` (which must not exist or be empty); `records`: a few
    of the task's records to trace with (by default, the run's own validation data). Returns the
    description written to export.json."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise UserError(f"{out} exists and is not empty; choose another --out or remove it")
    config, task, model = pipeline.config, pipeline.task, pipeline.model.float().eval()
    if task.steps_through_a_decoder:
        raise UserError(
            f"seqlab export does not yet write the step graphs of a {config.task} model's decoder; "
            "serve the run directory itself (seqlab serve RUN)"
        )
    records = prepare(config, records if records is not None else _sample_records(pipeline))
    out.mkdir(parents=True, exist_ok=True)
    try:
        with torch.no_grad(), warnings.catch_warnings(), _native_notes_silenced():
            warnings.simplefilter("ignore")  # the tracer's notes on Python values it fixes in the graph
            graphs = {"forward": export_forward(model, task, records, out / "forward.onnx")}
            if "generate" in task.verbs and task.records == "stream":
                graphs.update(export_steps(model, task, records, out))
        files = [name for name in (*task.files, *OPTIONAL_FILES) if (Path(pipeline.run_dir) / name).is_file()]
        for name in files:
            shutil.copyfile(Path(pipeline.run_dir) / name, out / name)
        description = {
            "format_version": EXPORT_FORMAT,
            "seqlab_version": __version__,
            "opset": OPSET,
            "task": config.task,
            "records": task.records,
            "encoder": config.model.encoder,
            "config": config.to_dict(),
            "files": files,
            "labels": list(getattr(task, "labels", None) or []),
            "crf": _crf(model),
            "start": kind_of(config.data).start,  # what a sample follows when the prompt is empty
            "context": config.data.block_size if ENCODERS[config.model.encoder].bounded_context else None,
            "graphs": graphs,
        }
        write_json(out / "export.json", description)
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)
        raise
    return description


@contextlib.contextmanager
def _native_notes_silenced():
    """The exporter's C++ shape-inference notes (on packed sequences) write to file descriptor 2 directly;
    each graph is checked against PyTorch instead, so they are dropped."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _sample_records(pipeline) -> list:
    """Records to trace with: the run's held-out data (validation, else test, else training)."""
    config = pipeline.config
    try:
        splits = load_splits(config.task, config.data)
    except UserError as exc:
        raise UserError(f"export traces the model on its data, and that failed: {exc}; give --data") from None
    return next(splits[name] for name in ("val", "test", "train") if splits.get(name))


def export_forward(model: nn.Module, task, records: list, path: Path) -> dict:
    """forward.onnx, traced on a padded batch of `records`' examples and checked against PyTorch on it and
    on another batch."""
    batch, *others = tracing_batches(task, records)
    fields = [name for name in FIELD_AXES if getattr(batch, name) is not None]
    graph = Forward(model, fields).eval()  # the exporter restores the wrapper's mode, and its parts', after
    inputs = {name: getattr(batch, name) for name in fields}
    logits = graph(*inputs.values())
    outputs = {"logits": logits}
    torch.onnx.export(
        graph,
        tuple(inputs.values()),
        str(path),
        dynamo=False,
        opset_version=OPSET,
        input_names=fields,
        output_names=["logits"],
        dynamic_axes={
            **{name: dict(enumerate(FIELD_AXES[name])) for name in fields},
            "logits": {0: "batch", **({1: "length"} if logits.dim() > 2 else {})},
        },
    )
    used = _input_names(path)  # a field the traced branches never read (the mask, where nothing is padded)
    difference = max(
        _difference(path, {n: getattr(b, n) for n in used}, [graph(*(getattr(b, n) for n in fields))])
        for b in [batch, *others]
    )
    inputs = {name: tensor for name, tensor in inputs.items() if name in used}
    return {"file": path.name, **_signature(inputs, outputs), "max_difference": difference}


def tracing_batches(task, records: list) -> list[Batch]:
    """Batches to trace a graph on, the first with padding where the task has any: the shortest and the
    longest example together, then each alone; a language model's stream in two windows of 5 and 9 tokens."""
    examples = task.encode(records, with_targets=False)
    if isinstance(examples, np.ndarray):  # a token stream
        ids = torch.as_tensor(examples[:14].astype(np.int64))
        padded = Batch(
            inputs=torch.stack([torch.cat([ids[:5], torch.zeros(4, dtype=torch.long)]), ids[5:14]]),
            mask=torch.tensor([[True] * 5 + [False] * 4, [True] * 9]),
        )
        return [padded, Batch(inputs=ids[None, :7], mask=torch.ones(1, 7, dtype=torch.bool))]
    if isinstance(examples, list):
        ordered = sorted(examples, key=task.length)
        picked = [ordered[0], ordered[-1]]
        return [task.collate(picked), *(task.collate([e]) for e in picked)]
    batches = task.batches(examples, 3)  # windows of a series, all of one length
    return [batch for _, (_, batch) in zip(range(2), batches)]


def export_steps(model: nn.Module, task, records: list, out: Path) -> dict:
    """prefill.onnx and step.onnx, a language model's generation outside PyTorch."""
    stream = torch.as_tensor(np.asarray(task.encode(records, with_targets=False)[:16], dtype=np.int64))
    prompts = [stream[None, :3], torch.stack([stream[3:7], stream[7:11]])]  # (1, 3) and (2, 4)
    step = Step(model, None).eval()
    states = [step(prompt)[1:] for prompt in prompts]
    step.layout = layout_of(model(Batch(inputs=prompts[0], mask=torch.ones_like(prompts[0]).bool())).state)
    names = [f"state_{i}" for i in range(len(states[0]))]
    # A state axis varies where the two prompts' states differ in size: the batch, a KV cache's length.
    axes = {
        name: {d: f"{name}_{d}" for d in range(a.dim()) if a.shape[d] != b.shape[d]}
        for name, a, b in zip(names, *states)
    }
    logits_axes = {"logits": {0: "batch"}}
    prompt = prompts[1]
    torch.onnx.export(
        step,
        (prompt,),
        str(out / "prefill.onnx"),
        dynamo=False,
        opset_version=OPSET,
        input_names=["ids"],
        output_names=["logits", *names],
        dynamic_axes={"ids": {0: "batch", 1: "length"}, **logits_axes, **axes},
    )
    token, state = stream[None, 11:12].repeat(2, 1), states[1]  # (2, 1) after the (2, 4) prompt
    next_names = [f"next_{name}" for name in names]
    torch.onnx.export(
        step,
        (token, *state),
        str(out / "step.onnx"),
        dynamo=False,
        opset_version=OPSET,
        input_names=["ids", *names],
        output_names=["logits", *next_names],
        dynamic_axes={
            "ids": {0: "batch"},
            **logits_axes,
            **axes,
            **{next_name: axes[name] for name, next_name in zip(names, next_names)},
        },
    )
    prefill_out, step_out = step(prompt), step(token, *state)
    return {
        "prefill": {
            "file": "prefill.onnx",
            **_signature({"ids": prompt}, dict(zip(["logits", *names], prefill_out))),
            "max_difference": _difference(out / "prefill.onnx", {"ids": prompt}, list(prefill_out)),
        },
        "step": {
            "file": "step.onnx",
            **_signature(
                {"ids": token, **dict(zip(names, state))}, dict(zip(["logits", *next_names], step_out))
            ),
            "max_difference": _difference(
                out / "step.onnx", {"ids": token, **dict(zip(names, state))}, list(step_out)
            ),
        },
    }


def _signature(inputs: dict[str, torch.Tensor], outputs: dict[str, torch.Tensor]) -> dict:
    def describe(tensors: dict[str, torch.Tensor]) -> list[dict]:
        return [
            {"name": name, "dtype": str(t.dtype).removeprefix("torch."), "rank": t.dim()}
            for name, t in tensors.items()
        ]

    return {"inputs": describe(inputs), "outputs": describe(outputs)}


def _input_names(path: Path) -> list[str]:
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return [value.name for value in session.get_inputs()]


def _difference(path: Path, inputs: dict[str, torch.Tensor], expected: list[torch.Tensor]) -> float:
    """The largest absolute difference between ONNX Runtime's outputs for `inputs` and PyTorch's; an
    export past TOLERANCE is refused."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {name: t.numpy() for name, t in inputs.items()})
    difference = max(float(np.abs(g - e.numpy()).max(initial=0.0)) for g, e in zip(got, expected))
    if not difference <= TOLERANCE:
        raise RuntimeError(
            f"{path.name}: ONNX Runtime differs from PyTorch by {difference:.3g}, > {TOLERANCE}"
        )
    return difference


def _crf(model: nn.Module) -> dict | None:
    """A tagger's CRF scores, which the runtime's Viterbi decoding reads."""
    crf = getattr(model.head, "crf", None)
    if crf is None:
        return None
    return {name: getattr(crf, name).detach().tolist() for name in ("start", "end", "transitions")}
