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
    start.onnx      a sequence-to-sequence model, in place of forward.onnx: the source's fields → the
                    logits of the first target token and the decoder's state (the encoder's memory, what
                    attention precomputes from it, the decoder's cache), flattened; a voice (tts): the
                    characters' fields → what its decoder's steps read
    step.onnx       one token per row (B, 1) and the state → logits (B, V) and the next state; a voice's:
                    the previous frame and the state → the next frame, its stop logit and the next state
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
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from seqlab import __version__
from seqlab.data.batch import Batch
from seqlab.data.datasets import load_splits
from seqlab.data.inputs import kind_of
from seqlab.data.text import BOS
from seqlab.encoders import DecoderState
from seqlab.errors import UserError
from seqlab.files import failed, write_json
from seqlab.pipeline import prepare
from seqlab.registry import ENCODERS

EXPORT_FORMAT = 1
OPSET = 17
OPTIONAL_FILES = (
    "chars.json",
    "target_tokenizer.json",
)  # a run's files that its task writes only with some settings
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


class FrameStep(nn.Module):
    """A piano-roll model's step: frames (B, T, P) and the flattened state (none for the opening) → the last
    frame's hidden vector (B, H), which the head samples the next frame from, and the next state."""

    def __init__(self, model: nn.Module, layout):
        super().__init__()
        self.model, self.layout = model, layout

    def forward(self, frames: torch.Tensor, *state: torch.Tensor):
        batch = Batch(inputs=frames, mask=torch.ones(frames.shape[:2], dtype=torch.bool))
        encoded = self.model.encode(batch, unflatten(list(state), self.layout) if state else None)
        return (encoded.hidden[:, -1], *flatten(encoded.state))


class FrameSample(nn.Module):
    """A piano-roll head's draw: hidden vectors (B, H) and uniform draws (B, P) → the frame (B, P)."""

    def __init__(self, head: nn.Module):
        super().__init__()
        self.head = head

    def forward(self, hidden: torch.Tensor, uniforms: torch.Tensor) -> torch.Tensor:
        return self.head.frame(hidden, uniforms)


class DecoderStart(nn.Module):
    """A decoder's start: the source's `fields` → the logits (B, V) of the first target token (the step
    after [BOS], taken here) and the decoder's state, flattened (see `DECODER_FIELDS`)."""

    def __init__(self, model: nn.Module, fields: list[str]):
        super().__init__()
        self.model, self.fields = model, fields

    def forward(self, *tensors: torch.Tensor):
        logits, state = self.first_step(Batch(**dict(zip(self.fields, tensors))))
        return (logits, *flatten([getattr(state, name) for name in DECODER_FIELDS]))

    def first_step(self, batch: Batch) -> tuple[torch.Tensor, DecoderState]:
        """The logits (B, V) after [BOS], and the state that the next step reads."""
        state = self.model.head.start(self.model.encode(batch), batch)
        bos = torch.full_like(batch.mask[:, :1], BOS, dtype=torch.long)  # (B, 1)
        logits, state = self.model.head.step(bos, state)
        return logits[:, -1], state


class DecoderStep(nn.Module):
    """A decoder's step: one token per row (B, 1) and the flattened state → logits (B, V), next state."""

    def __init__(self, model: nn.Module, template: DecoderState):
        super().__init__()
        self.model, self.template = model, template
        self.layout = layout_of([getattr(template, name) for name in DECODER_FIELDS])

    def forward(self, ids: torch.Tensor, *tensors: torch.Tensor):
        parts = unflatten(list(tensors), self.layout)
        state = replace(self.template, **dict(zip(DECODER_FIELDS, parts)))
        logits, state = self.model.head.step(ids, state)
        return (logits[:, -1], *flatten([getattr(state, name) for name in DECODER_FIELDS]))


class VoiceStart(nn.Module):
    """A voice's start (`SpeechDecoder.start`): the characters' `fields` → memory (B, S, H), attention's
    keys (B, S, A), the first cell state (B, R) and context (B, H)."""

    def __init__(self, model: nn.Module, fields: list[str]):
        super().__init__()
        self.model, self.fields = model, fields

    def forward(self, *tensors: torch.Tensor):
        batch = Batch(**dict(zip(self.fields, tensors)))
        return self.model.head.start(self.model.encode(batch), batch)


class VoiceStep(nn.Module):
    """A voice's step (`SpeechDecoder.step`): the previous frame (B, D), cell state, context, memory, keys
    and the characters' mask (B, S) → the next frame (B, D), its stop logit (B,), next state and context."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, previous, state, context, memory, keys, mask):
        return self.model.head.step(previous, state, context, memory, keys, mask)


DECODER_FIELDS = ("memory", "mask", "keys", "cache", "copy_ids")  # the tensors of a DecoderState
TENSOR, ABSENT = "tensor", "absent"


def flatten(state) -> list[torch.Tensor]:
    """A state's tensors (nested in lists and tuples; None holds none) in order."""
    if isinstance(state, (list, tuple)):
        return [t for part in state for t in flatten(part)]
    return [] if state is None else [state]


def layout_of(state):
    """The nesting of a state: TENSOR, ABSENT for None, a list or tuple of the layouts of its parts."""
    if isinstance(state, (list, tuple)):
        return type(state)(layout_of(part) for part in state)
    return ABSENT if state is None else TENSOR


def unflatten(tensors: list[torch.Tensor], layout):
    """The state `flatten` made `tensors` of, nested as `layout` says (consumes `tensors`)."""
    if layout == TENSOR:
        return tensors.pop(0)
    if layout == ABSENT:
        return None
    return type(layout)(unflatten(tensors, part) for part in layout)


# -- the export ----------------------------------------------------------------------------------


def export(pipeline, out: Path, records: list | None = None) -> dict:
    """Write `pipeline`'s graphs and files to `out` (which must not exist or be empty); `records`: a few
    of the task's records to trace with (by default, the run's own validation data). Returns the
    description written to export.json."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError(f"{out} exists and is not an empty folder; choose another --out or remove it")
    config, task, model = pipeline.config, pipeline.task, pipeline.model.float().eval()
    records = prepare(config, records if records is not None else _sample_records(pipeline))
    try:
        out.mkdir(parents=True, exist_ok=True)
        with torch.no_grad(), warnings.catch_warnings(), _native_notes_silenced():
            warnings.simplefilter("ignore")  # the tracer's notes on Python values it fixes in the graph
            if task.steps_through_a_decoder:
                writer = export_decoder if task.records == "pairs" else export_voice
                graphs = writer(model, task, records, out)
            else:
                graphs = {"forward": export_forward(model, task, records, out / "forward.onnx")}
            if ("generate" in task.verbs and task.records == "stream") or "draw" in task.verbs:
                graphs.update(export_steps(model, task, records, out))
            if "compose" in task.verbs:
                graphs.update(export_composer(model, task, records, out))
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
            "context": (  # the positions a bounded encoder reads at once; None: unbounded
                task.context_length(config, model.adapter)
                if ENCODERS[config.model.encoder].bounded_context
                else None
            ),
            "target_limit": config.data.max_length if task.records == "pairs" else None,  # tokens
            "copy_table": task.copy_table().tolist() if getattr(config.model, "copy", False) else None,
            "graphs": graphs,
        }
        write_json(out / "export.json", description)
    except BaseException as exc:
        shutil.rmtree(out, ignore_errors=True)
        if isinstance(exc, OSError):  # a full disk, a folder that cannot be written
            raise UserError(failed(exc, out)) from None
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
    """forward.onnx, traced on a padded batch of `records`' examples and checked on it and on the others."""
    batch, *others = tracing_batches(task, records)
    fields = [name for name in FIELD_AXES if getattr(batch, name) is not None]
    graph = Forward(model, fields).eval()  # the exporter restores the wrapper's mode, and its parts', after
    logits = graph(*(getattr(batch, name) for name in fields))
    axes = {0: "batch", **({1: "length"} if logits.dim() > 2 else {})}
    return export_graph(
        graph,
        [{name: getattr(b, name) for name in fields} for b in [batch, *others]],
        ["logits"],
        {**{name: dict(enumerate(FIELD_AXES[name])) for name in fields}, "logits": axes},
        path,
    )


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
    """prefill.onnx and step.onnx: a language model's generation (or an image model's drawing) outside
    PyTorch."""
    examples = task.encode(records, with_targets=False)
    if "draw" in task.verbs:  # images: each one's class token, then its pixels
        examples = np.concatenate([np.r_[e["start"], e["pixels"].numpy()] for e in examples[:2]])
    stream = torch.as_tensor(np.asarray(examples[:16], dtype=np.int64))
    prompts = [stream[None, :3], torch.stack([stream[3:7], stream[7:11]])]  # (1, 3) and (2, 4)
    step = Step(model, None).eval()
    states = [list(step(prompt)[1:]) for prompt in prompts]
    step.layout = layout_of(model(Batch(inputs=prompts[0], mask=torch.ones_like(prompts[0]).bool())).state)
    token = stream[None, 11:12].repeat(2, 1)  # (2, 1) after the (2, 4) prompt
    names, axes = _state_axes([*states, list(step(token, *states[1])[1:])])
    prefill = export_graph(
        step,
        [{"ids": prompts[1]}, {"ids": prompts[0]}],
        ["logits", *names],
        {"ids": {0: "batch", 1: "length"}, "logits": {0: "batch"}, **axes},
        out / "prefill.onnx",
    )
    return {"prefill": prefill, "step": _export_step(step, token, states[1], names, axes, out / "step.onnx")}


def export_composer(model: nn.Module, task, records: list, out: Path) -> dict:
    """prefill.onnx and step.onnx (frames and state → the last hidden vector and the next state) and
    frame.onnx (the head's draw of a frame, given uniform draws): a piano-roll model's composing outside
    PyTorch."""
    roll = torch.cat([e["roll"] for e in task.encode(records, with_targets=False)[:4]]).float()  # (T, P)
    prompts = [roll[None, :3], torch.stack([roll[3:7], roll[7:11]])]  # (1, 3, P) and (2, 4, P)
    step = FrameStep(model, None).eval()
    states = [list(step(prompt)[1:]) for prompt in prompts]
    step.layout = layout_of(model.encode(Batch(inputs=prompts[0], mask=torch.ones(1, 3).bool())).state)
    frame = roll[None, 11:12].repeat(2, 1, 1)  # (2, 1, P) after the (2, 4, P) prompt
    names, axes = _state_axes([*states, list(step(frame, *states[1])[1:])])
    prefill = export_graph(
        step,
        [{"frames": prompts[1]}, {"frames": prompts[0]}],
        ["hidden", *names],
        {"frames": {0: "batch", 1: "length"}, "hidden": {0: "batch"}, **axes},
        out / "prefill.onnx",
    )
    hidden = step(prompts[1])[0]  # (2, H)
    drawn = export_graph(
        FrameSample(model.head).eval(),
        [
            {
                "hidden": hidden,
                "uniforms": torch.rand(2, roll.shape[1], generator=torch.Generator().manual_seed(0)),
            }
        ],
        ["frame"],
        {"hidden": {0: "batch"}, "uniforms": {0: "batch"}, "frame": {0: "batch"}},
        out / "frame.onnx",
    )
    stepped = _export_step(step, frame, states[1], names, axes, out / "step.onnx", ("frames", "hidden"))
    return {"prefill": prefill, "step": stepped, "frame": drawn}


def export_decoder(model: nn.Module, task, records: list, out: Path) -> dict:
    """start.onnx and step.onnx: a sequence-to-sequence model's decoding outside PyTorch."""
    batch, *others = tracing_batches(task, records)
    fields = [name for name in FIELD_AXES if getattr(batch, name) is not None]
    start = DecoderStart(model, fields).eval()
    sources = [{name: getattr(b, name) for name in fields} for b in [batch, *others]]
    states = [list(start(*source.values())[1:]) for source in sources]
    step = DecoderStep(model, start.first_step(batch)[1]).eval()  # its state holds a cache, as steps' do
    token = torch.full((len(batch), 1), BOS + 1)  # any token: the graph is the same for all
    names, axes = _state_axes([*states, list(step(token, *states[0])[1:])])
    started = export_graph(
        start,
        sources,
        ["logits", *names],
        {**{name: dict(enumerate(FIELD_AXES[name])) for name in fields}, "logits": {0: "batch"}, **axes},
        out / "start.onnx",
    )
    return {"start": started, "step": _export_step(step, token, states[0], names, axes, out / "step.onnx")}


def export_voice(model: nn.Module, task, records: list, out: Path) -> dict:
    """start.onnx and step.onnx: a voice's frames outside PyTorch."""
    batch, *others = tracing_batches(task, records)
    fields = [name for name in FIELD_AXES if getattr(batch, name) is not None]
    start = VoiceStart(model, fields).eval()
    sources = [{name: getattr(b, name) for name in fields} for b in [batch, *others]]
    by_batch, by_characters = {0: "batch"}, {0: "batch", 1: "length"}
    started = export_graph(
        start,
        sources,
        ["memory", "keys", "state", "context"],
        {
            **{name: dict(enumerate(FIELD_AXES[name])) for name in fields},
            **{"memory": by_characters, "keys": by_characters, "state": by_batch, "context": by_batch},
        },
        out / "start.onnx",
    )
    memory, keys, state, context = start(*sources[0].values())
    step = VoiceStep(model).eval()
    silence = memory.new_zeros(len(batch), model.head.frame_dim)
    first = {"previous": silence, "state": state, "context": context, "memory": memory, "keys": keys}
    first["mask"] = batch.mask
    frame, _, state, context = step(*first.values())
    stepped = export_graph(
        step,
        [first, {**first, "previous": frame, "state": state, "context": context}],
        ["frame", "stop", "next_state", "next_context"],
        {
            **{name: by_batch for name in ("previous", "state", "context", "frame", "stop")},
            **{name: by_batch for name in ("next_state", "next_context")},
            **{name: by_characters for name in ("memory", "keys", "mask")},
        },
        out / "step.onnx",
    )
    return {"start": started, "step": stepped}


def _state_axes(states: list[list[torch.Tensor]]) -> tuple[list[str], dict[str, dict[int, str]]]:
    """Names for a flattened state's tensors, and their dynamic axes: those whose size differs between
    `states` (the same state after prompts or sources of other sizes, and after a step)."""
    names = [f"state_{i}" for i in range(len(states[0]))]
    axes = {
        name: {d: f"{name}_{d}" for d in range(tensors[0].dim()) if len({t.shape[d] for t in tensors}) > 1}
        for name, tensors in zip(names, zip(*states))
    }
    return names, axes


def _export_step(
    step: nn.Module,
    token: torch.Tensor,
    state: list[torch.Tensor],
    names: list[str],
    axes: dict,
    path: Path,
    called: tuple[str, str] = ("ids", "logits"),
) -> dict:
    """step.onnx: a token per row (or what `called` names: the input, the output) and the state in, the
    next logits and state out (`next_state_i`)."""
    first, result = called
    next_names = [f"next_{name}" for name in names]
    return export_graph(
        step,
        [{first: token, **dict(zip(names, state))}],
        [result, *next_names],
        {
            first: {0: "batch"},
            result: {0: "batch"},
            **axes,
            **{next_name: axes[name] for name, next_name in zip(names, next_names)},
        },
        path,
    )


def export_graph(
    graph: nn.Module, examples: list[dict[str, torch.Tensor]], outputs: list[str], axes: dict, path: Path
) -> dict:
    """Trace `graph` on the first of `examples` (input name → tensor) into `path`; ONNX Runtime's outputs
    for every example are checked against PyTorch's. Returns the graph's description for export.json."""
    torch.onnx.export(
        graph,
        tuple(examples[0].values()),
        str(path),
        dynamo=False,
        opset_version=OPSET,
        input_names=list(examples[0]),
        output_names=outputs,
        dynamic_axes=axes,
    )
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    used = [value.name for value in session.get_inputs()]  # what the traced branches read: not a mask
    # where nothing was padded
    difference, returned = 0.0, []
    for example in examples:
        expected = graph(*example.values())
        expected = [expected] if isinstance(expected, torch.Tensor) else list(expected)
        returned = returned or expected  # the first example's, which the description shows
        got = session.run(None, {name: example[name].numpy() for name in used})
        for g, e in zip(got, expected):
            gap = np.abs(g.astype(np.float64) - e.numpy().astype(np.float64))  # masks pass through as bool
            difference = max(difference, float(gap.max(initial=0.0)))
    if not difference <= TOLERANCE:
        raise RuntimeError(f"{path.name}: ONNX Runtime is {difference:.3g} from PyTorch, over {TOLERANCE}")

    def described(tensors) -> list[dict]:
        return [
            {"name": name, "dtype": str(t.dtype).removeprefix("torch."), "rank": t.dim()}
            for name, t in tensors
        ]

    return {
        "file": path.name,
        "inputs": described((name, examples[0][name]) for name in used),
        "outputs": described(zip(outputs, returned)),
        "max_difference": difference,
    }


def _crf(model: nn.Module) -> dict | None:
    """A tagger's CRF scores, which the runtime's Viterbi decoding reads."""
    crf = getattr(model.head, "crf", None)
    if crf is None:
        return None
    return {name: getattr(crf, name).detach().tolist() for name in ("start", "end", "transitions")}
