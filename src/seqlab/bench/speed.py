"""`seqlab bench speed`: how fast seqlab trains and generates on this machine, beside its peers and
beside the machine's own limit, measured in one run.

    seqlab bench speed                 # the full table (about ten minutes on 2 CPU cores)
    seqlab bench speed --smoke         # every row but torch.compile at toy sizes (the test suite runs it)

On a CUDA GPU every row runs there, the transformer at GPT-2 small's size (12 layers, 12 heads, 768
wide, context 1024), and the table says whether the recurrent rows took cuDNN's kernels.

Rows, each a ratio of two numbers measured here and now:
- the limit: fp32 and bf16 matmul throughput and memory bandwidth, so a share of peak needs no vendor
  constant;
- training tokens/s of the nanoGPT Shakespeare-char transformer (6 layers, 6 heads, 384 wide,
  context 256) and of 2-layer, 256-wide LSTM, GRU and RNN language models: seqlab's `fit`, a plain
  PyTorch loop of the same model, and transformers' GPT-2 class at the same size;
- generation tokens/s with and without the KV cache or recurrent state, first-token latency, batch
  prediction throughput, and the wall time of `import seqlab` and `seqlab --help`;
- the levers (bf16 autocast, SDPA, fused AdamW, threads, torch.compile, the memory-mapped token
  stream, packed sequences, length bucketing), each on and off.
The table goes to `SPEED.md`, `speed.json` and `speed.png` in `--out`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import torch

from seqlab.bench import peers
from seqlab.files import atomic_write
from seqlab.registry import ENCODERS
from seqlab.training import run_dir as rd


@dataclass(frozen=True)
class Sizes:
    """The shapes one run measures."""

    dim: int = 384
    layers: int = 6
    heads: int = 6
    context: int = 256
    batch: int = 8  # transformer windows per step
    rnn_hidden: int = 256
    rnn_layers: int = 2
    rnn_batch: int = 32
    steps: int = 20  # timed optimizer steps per training row, after `warmup` untimed ones
    warmup: int = 2
    new_tokens: int = 500  # generation at batch 1, with and without the cache
    peer_new_tokens: int = 240  # beside GPT-2, whose positions end at `context`
    batched_new_tokens: int = 64  # generation at batch 32
    matmul: tuple[int, ...] = (512, 1024, 2048, 3072)  # square matmul sizes: the peak is their best
    rounds: int = 3  # training and generation rows run this many times, interleaved: ratios have a spread
    copy_megabytes: int = 256  # the tensor copied to measure memory bandwidth
    predict_texts: int = 1000


# GPT-2 small, the size at which a GPU's share of peak is judged; the recurrent models keep their size.
GPU = Sizes(
    dim=768,
    layers=12,
    heads=12,
    context=1024,
    batch=16,
    rnn_batch=256,
    warmup=3,
    matmul=(2048, 4096, 8192),
    copy_megabytes=4096,
)
SMOKE = Sizes(
    dim=32,
    layers=2,
    heads=2,
    context=32,
    batch=2,
    rnn_hidden=16,
    rnn_layers=1,
    rnn_batch=2,
    steps=3,
    warmup=1,
    new_tokens=4,
    peer_new_tokens=4,
    batched_new_tokens=2,
    matmul=(32, 64),
    rounds=2,
    copy_megabytes=8,
    predict_texts=16,
)


# ---------------------------------------------------------------------------------------------
# The machine's limit


def matmul_flops(n: int, dtype: torch.dtype, device: torch.device, seconds: float = 1.0) -> float:
    """FLOP/s of (n, n) @ (n, n) in `dtype` on `device`, repeated for about `seconds`."""
    a, b = (torch.randn(n, n, device=device).to(dtype) for _ in range(2))
    return 2 * n**3 * _repeat(lambda: a @ b, device, seconds)


def matmul_peak(sizes: tuple[int, ...], dtype: torch.dtype, device: torch.device, seconds: float) -> dict:
    """The machine's measured peak in `dtype`: the best FLOP/s of square matmuls over `sizes`, each size
    measured three times (a single timing on a shared host undershoots), with the best of every size."""
    by_size = {n: max(matmul_flops(n, dtype, device, seconds) for _ in range(3)) for n in sizes}
    return {"flops": max(by_size.values()), "by_size": by_size}


def memory_bandwidth(megabytes: int, device: torch.device) -> float:
    """Bytes per second read and written by copying a `megabytes` tensor on `device`."""
    source = torch.empty(megabytes * 2**18, device=device)  # fp32: 4 bytes each
    target = torch.empty_like(source)
    return 2 * source.numel() * 4 * _repeat(lambda: target.copy_(source), device, 0.5)


def _repeat(work, device: torch.device, seconds: float, chunk: int = 4) -> float:
    """Calls of `work` per second, in chunks followed by a wait for the device, for about `seconds`."""
    work()  # warm-up
    peers.synchronize(device)
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        for _ in range(chunk):
            work()
        peers.synchronize(device)
        count += chunk
    return count / (time.perf_counter() - started)


# ---------------------------------------------------------------------------------------------
# Data and model sizes


def corpus() -> tuple[str, str]:
    """(name, text): Tiny Shakespeare where the dataset cache has it, else the Fine Food reviews the
    demo installs, else a fixed pseudo-random text."""
    from seqlab.data.datasets import REGISTRY
    from seqlab.data.download import local_path

    path = local_path(REGISTRY["tinyshakespeare"], "train")
    if path.is_file():
        return "tinyshakespeare", path.read_text(encoding="utf-8")
    try:
        return "fine-food-text", REGISTRY["fine-food-text"].loader()["train"][0]
    except Exception:  # the demo packages are not installed
        generator = torch.Generator().manual_seed(0)
        letters = "abcdefghijklmnopqrstuvwxyz \n"
        return "random letters", "".join(
            letters[i] for i in torch.randint(len(letters), (400_000,), generator=generator)
        )


def char_index(text: str) -> dict[str, int]:
    """Each character of the text → its id, in sorted order."""
    return {c: i for i, c in enumerate(sorted(set(text)))}


def char_ids(text: str) -> tuple[torch.Tensor, int]:
    """The text as a tensor of character ids, and the vocabulary size."""
    index = char_index(text)
    return torch.tensor([index[c] for c in text], dtype=torch.long), len(index)


def lm_config(encoder: str, sizes: Sizes, **settings):
    """The run config of a language model of `encoder` at the harness's sizes, without dropout."""
    from seqlab.config import load_config

    shape = (
        {
            "model.hidden_size": sizes.dim,
            "model.embed_dim": sizes.dim,
            "model.num_layers": sizes.layers,
            "model.num_heads": sizes.heads,
        }
        if not ENCODERS[encoder].recurrent
        else {
            "model.hidden_size": sizes.rnn_hidden,
            "model.embed_dim": sizes.rnn_hidden,
            "model.num_layers": sizes.rnn_layers,
        }
    )
    return load_config(
        None,
        task="lm",
        **shape,
        **{"model.encoder": encoder, "model.dropout": 0.0, "data.block_size": sizes.context, **settings},
    )


def train_flops_per_token(
    model: torch.nn.Module,
    layers: int = 0,
    context: int = 0,
    dim: int = 0,
    skip: tuple[str, ...] = ("positions",),
) -> float:
    """6 N (forward and backward over every weight a token meets) + 12 L T D for attention, PaLM's
    estimate as nanoGPT uses it; position tables are looked up, not multiplied, and left out."""
    unique = {id(p): (n, p) for n, p in model.named_parameters()}.values()
    n = sum(p.numel() for name, p in unique if not any(s in name for s in skip))
    return 6 * n + 12 * layers * context * dim


# ---------------------------------------------------------------------------------------------
# Training throughput


def seqlab_lm(encoder: str, text: str, sizes: Sizes, precision: str, out: Path, device: torch.device) -> dict:
    """Tokens/s of seqlab's own `fit` on `text`, measured over the steps after the warm-up from the
    loop's history (training time only, as the plain loop, which neither validates nor checkpoints),
    the model's training FLOPs per token and, on a GPU, the peak memory and the recurrent kernel."""
    from seqlab.pipeline import fit

    transformer = not ENCODERS[encoder].recurrent  # the harness's one attention model, at nanoGPT's size
    config = lm_config(
        encoder,
        sizes,
        **{
            "data.tokenizer": "char",
            "train.batch_size": sizes.batch if transformer else sizes.rnn_batch,
            "train.max_steps": sizes.warmup + sizes.steps,
            "train.eval_every": sizes.warmup,
            "train.warmup": 0,
            "train.precision": precision,
            "train.log_every": 10**9,
        },
    )
    val = text[: 2 * sizes.context + 2]  # evaluation is not what is measured: keep it short
    _reset_peak_memory(device)
    pipeline = fit(config, out, {"train": [text], "val": [val]})
    memory = _peak_memory(device)
    history = rd.read_history(out / "history.csv")  # rows at the warm-up's end and at the last step
    first, last = history[0], history[-1]
    training_seconds = (last["seconds"] - last["eval_seconds"]) - (first["seconds"] - first["eval_seconds"])
    rate = (last["items_seen"] - first["items_seen"]) / training_seconds
    flops = (
        train_flops_per_token(pipeline.model, sizes.layers, sizes.context, sizes.dim)
        if transformer
        else train_flops_per_token(pipeline.model)
    )
    row = {
        "tokens_per_second": rate,
        "flops_per_token": flops,
        "parameters": _parameters(pipeline.model),
        **memory,
    }
    if device.type == "cuda" and not transformer:
        row["kernel"] = recurrent_kernel(pipeline.model.to(device), sizes, precision == "bf16")
    return row


def recurrent_kernel(model: torch.nn.Module, sizes: Sizes, bf16: bool) -> str:
    """'cuDNN' where a training step of this recurrent language model runs cuDNN's kernel, read off
    the operators torch.profiler records; else 'PyTorch'."""
    from torch.profiler import profile

    from seqlab.training.hardware import device_of

    step = lm_batch(2, sizes.rnn_batch, sizes.context, device_of(model))
    model.train()
    with profile() as prof:
        with torch.autocast(step.inputs.device.type, dtype=torch.bfloat16, enabled=bf16):
            loss = model(step).loss_sum
        loss.backward()
    return "cuDNN" if any("cudnn_rnn" in event.key for event in prof.key_averages()) else "PyTorch"


def lm_batch(vocab: int, batch: int, context: int, device: torch.device):
    """A training batch of random token windows, (batch, context) each way."""
    from seqlab.data.batch import Batch

    tokens = torch.randint(vocab, (batch, context + 1), device=device)
    return Batch(
        inputs=tokens[:, :-1],
        mask=torch.ones(batch, context, dtype=torch.bool, device=device),
        targets=tokens[:, 1:],
    )


def _reset_peak_memory(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def _peak_memory(device: torch.device) -> dict:
    """{"peak_memory": bytes} of the GPU since the last reset; nothing on a CPU, where no per-row figure
    exists."""
    return {"peak_memory": torch.cuda.max_memory_allocated(device)} if device.type == "cuda" else {}


def plain_gpt(vocab: int, sizes: Sizes, sdpa: bool = True) -> peers.PlainGPT:
    torch.manual_seed(0)
    return peers.PlainGPT(vocab, sizes.dim, sizes.layers, sizes.heads, sizes.context, sdpa)


def plain_row(
    model, data: torch.Tensor, sizes: Sizes, batch: int, device: torch.device, bf16: bool = False, **options
) -> dict:
    _reset_peak_memory(device)
    rate = peers.plain_loop(
        model, data, batch, sizes.context, sizes.steps, sizes.warmup, bf16, device=device, **options
    )
    return {"tokens_per_second": rate, "parameters": _parameters(model), **_peak_memory(device)}


def _parameters(model) -> int:
    return sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())


def training_rows(text: str, sizes: Sizes, tmp: Path, device: torch.device) -> dict[str, dict]:
    """Every training row: (name → tokens/s, FLOPs per token, precision, parameters)."""
    data, vocab = char_ids(text)
    rows = {}
    for precision in ("fp32", "bf16"):
        row = seqlab_lm("transformer", text, sizes, precision, tmp / f"transformer-{precision}", device)
        rows[f"seqlab transformer {precision}"] = {**row, "precision": precision}
    flops = rows["seqlab transformer fp32"]["flops_per_token"]
    for precision in ("fp32", "bf16"):
        row = plain_row(plain_gpt(vocab, sizes), data, sizes, sizes.batch, device, bf16=precision == "bf16")
        rows[f"plain PyTorch transformer {precision}"] = {
            **row,
            "precision": precision,
            "flops_per_token": flops,
        }
    for attention in ("sdpa", "eager"):  # the peer on either attention path: seqlab picks its faster one
        gpt2 = peers.hf_gpt2(vocab, sizes.dim, sizes.layers, sizes.heads, sizes.context, attention)
        if gpt2 is None:
            break
        for precision in ("fp32", "bf16"):
            row = plain_row(
                gpt2, data, sizes, sizes.batch, device, bf16=precision == "bf16", loss_fn=peers.hf_loss
            )
            rows[f"transformers GPT-2 {attention} {precision}"] = {
                **row,
                "precision": precision,
                "flops_per_token": flops,
            }
    for cell in ("lstm", "gru", "rnn"):
        for precision in ("fp32", "bf16"):
            row = seqlab_lm(cell, text, sizes, precision, tmp / f"{cell}-{precision}", device)
            rows[f"seqlab {cell} {precision}"] = {**row, "precision": precision}
        torch.manual_seed(0)
        model = peers.PlainRecurrentLM(cell, vocab, sizes.rnn_hidden, sizes.rnn_hidden, sizes.rnn_layers)
        row = plain_row(model, data, sizes, sizes.rnn_batch, device)
        rows[f"plain nn.{cell.upper()} fp32"] = {
            **row,
            "precision": "fp32",
            "flops_per_token": train_flops_per_token(model),
        }
    return rows


# ---------------------------------------------------------------------------------------------
# Inference


def generation_rows(vocab: int, sizes: Sizes, device: torch.device) -> dict[str, dict]:
    """Greedy tokens/s on `device` with and without the cache or state, by model, batch and new
    tokens; the weights are random, which does not change the speed."""
    from seqlab.generation import GenerationConfig, generate
    from seqlab.model import build_model

    def seqlab_rate(model, context, batch: int, new: int, use_cache: bool) -> float:
        prompt = torch.randint(vocab, (batch, 16), generator=torch.Generator().manual_seed(0)).to(device)
        settings = GenerationConfig(max_new_tokens=new, temperature=0, use_cache=use_cache)
        peers.synchronize(device)
        started = time.perf_counter()
        with torch.no_grad():
            generate(model, prompt, settings, contextlib.nullcontext, context)
        peers.synchronize(device)
        return batch * new / (time.perf_counter() - started)

    torch.manual_seed(0)
    models = {
        f"seqlab {encoder}": (
            build_model(lm_config(encoder, sizes), vocab_size=vocab).to(device).eval(),
            context,
        )
        for encoder, context in (("transformer", sizes.context), ("lstm", None))
    }
    rows = {}
    for name, (model, context) in models.items():
        for batch, new in ((1, sizes.new_tokens), (1, sizes.peer_new_tokens), (32, sizes.batched_new_tokens)):
            rows[f"{name}, batch {batch}, {new} new"] = {
                "cached": seqlab_rate(model, context, batch, new, True),
                "uncached": seqlab_rate(model, context, batch, new, False),
            }
        rows[f"{name}, batch 1, first token"] = {
            "latency_seconds": 1 / seqlab_rate(model, context, 1, 1, True)
        }
    gpt2 = peers.hf_gpt2(vocab, sizes.dim, sizes.layers, sizes.heads, sizes.context)
    if gpt2 is not None:
        gpt2.to(device)
        for batch, new in ((1, sizes.peer_new_tokens), (32, sizes.batched_new_tokens)):
            prompt = torch.randint(vocab, (batch, 16), generator=torch.Generator().manual_seed(0))
            rows[f"transformers GPT-2, batch {batch}, {new} new"] = {
                "cached": peers.hf_generate(gpt2, prompt, new, True, False),
                "uncached": peers.hf_generate(gpt2, prompt, new, False, False),
            }
        prompt = torch.randint(vocab, (1, 16), generator=torch.Generator().manual_seed(0))
        rows["transformers GPT-2, batch 1, first token"] = {
            "latency_seconds": 1 / peers.hf_generate(gpt2, prompt, 1, True, False)
        }
    return rows


def prediction_row(sizes: Sizes, tmp: Path) -> dict | None:
    """Reviews per second through a GRU classifier's `predict`, batch 64 (None without the demo data)."""
    from seqlab.config import load_config
    from seqlab.data.datasets import REGISTRY
    from seqlab.errors import UserError
    from seqlab.pipeline import fit

    try:
        foods = REGISTRY["fine-foods"].loader()
    except UserError:
        return None
    config = load_config(
        None,
        task="classify",
        **{
            "model.encoder": "gru",
            "model.hidden_size": 128,
            "data.max_length": 256,
            "train.max_steps": 2,
            "train.batch_size": 64,
            "train.log_every": 10**9,
        },
    )
    train = foods["train"][:512]
    pipeline = fit(config, tmp / "predict", {"train": train, "val": train[:64], "test": train[:64]})
    texts = [{"text": r["text"]} for r in foods["test"][: sizes.predict_texts]]
    started = time.perf_counter()
    pipeline.predict(texts)
    return {"texts": len(texts), "texts_per_second": len(texts) / (time.perf_counter() - started)}


def startup_seconds() -> dict[str, float]:
    """The best of three wall times of `import seqlab` and `seqlab --help`, each in a new process."""

    def best(args: list[str]) -> float:
        times = []
        for _ in range(3):
            started = time.perf_counter()
            subprocess.run(args, check=True, capture_output=True)
            times.append(time.perf_counter() - started)
        return min(times)

    return {
        "python -c pass": best([sys.executable, "-c", "pass"]),
        "import seqlab": best([sys.executable, "-c", "import seqlab"]),
        "seqlab --help": best([sys.executable, "-m", "seqlab", "--help"]),
    }


# ---------------------------------------------------------------------------------------------
# Levers


def lever_row(name: str, off: float, on: float, unit: str = "tokens/s") -> dict:
    """One lever of the table: its rate off and on, and on/off."""
    return {"lever": name, "off": off, "on": on, "unit": unit, "ratio": on / off if off else None}


def lever_rows(text: str, sizes: Sizes, training: dict, generation: dict, device: torch.device) -> list[dict]:
    """Each lever's tokens/s (or padding share) off and on. bf16 and the cache come from the rows
    above; the others are measured on the plain transformer, so seqlab's code is not in question,
    in fp32 on a CPU and in bf16 on a GPU, each device's usual precision."""
    data, vocab = char_ids(text)
    levers = []

    def lever(name: str, off: float, on: float, unit: str = "tokens/s") -> None:
        levers.append(lever_row(name, off, on, unit))

    for model in ("transformer", "lstm"):
        lever(
            f"bf16 autocast, seqlab {model}",
            training[f"seqlab {model} fp32"]["tokens_per_second"],
            training[f"seqlab {model} bf16"]["tokens_per_second"],
        )
    cached = generation[f"seqlab transformer, batch 1, {sizes.new_tokens} new"]
    lever(f"KV cache, transformer, {sizes.new_tokens} new tokens", cached["uncached"], cached["cached"])
    state = generation[f"seqlab lstm, batch 1, {sizes.new_tokens} new"]
    lever(f"recurrent state carried, lstm, {sizes.new_tokens} new tokens", state["uncached"], state["cached"])
    bf16 = device.type == "cuda"
    precision = "bf16" if bf16 else "fp32"
    plain = training[f"plain PyTorch transformer {precision}"]["tokens_per_second"]

    def plain_rate(sdpa: bool = True, **options) -> float:
        row = plain_row(plain_gpt(vocab, sizes, sdpa), data, sizes, sizes.batch, device, bf16, **options)
        return row["tokens_per_second"]

    lever(
        f"scaled_dot_product_attention, {precision} (off: attention written out)",
        plain_rate(sdpa=False),
        plain,
    )
    if device.type == "cpu":  # in bf16 seqlab writes short attention out there (encoders/transformer.py)
        written = plain_row(plain_gpt(vocab, sizes, sdpa=False), data, sizes, sizes.batch, device, True)
        lever(
            f"scaled_dot_product_attention, bf16, {sizes.context} keys (off: attention written out)",
            written["tokens_per_second"],
            training["plain PyTorch transformer bf16"]["tokens_per_second"],
        )
    lever(f"fused AdamW, {precision} (off: foreach)", plain, plain_rate(fused=True))
    threads = torch.get_num_threads()
    if threads > 1 and device.type == "cpu":
        torch.set_num_threads(1)
        try:
            one = plain_rate()
        finally:
            torch.set_num_threads(threads)
        lever(f"{threads} threads (off: 1)", one, plain)
    if sizes != SMOKE:  # compiling costs a minute or more on a cold cache: not at toy sizes
        levers.append(_compile_lever(vocab, data, sizes, plain, device, bf16))
    levers.extend(_stream_levers(text, sizes))
    levers.append(_packing_lever(text, sizes, device))
    levers.append(_bucketing_lever(text, sizes))
    return levers


def _compile_lever(
    vocab: int, data: torch.Tensor, sizes: Sizes, eager: float, device: torch.device, bf16: bool
) -> dict:
    """torch.compile of the plain transformer; its compile time is reported apart from the rate."""
    row = {
        "lever": f"torch.compile, {'bf16' if bf16 else 'fp32'} (off: eager)",
        "off": eager,
        "unit": "tokens/s",
    }
    try:
        started = time.perf_counter()
        compiled = torch.compile(plain_gpt(vocab, sizes))
        peers.plain_loop(compiled, data, sizes.batch, sizes.context, 1, 0, bf16, device=device)  # compiles
        row["compile_seconds"] = time.perf_counter() - started
        row["on"] = plain_row(compiled, data, sizes, sizes.batch, device, bf16)["tokens_per_second"]
        row["ratio"] = row["on"] / eager
    except Exception as exc:  # no C++ compiler, an unsupported op: the table says so
        row.update(on=None, ratio=None, failed=f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}")
    return row


def _stream_levers(text: str, sizes: Sizes) -> list[dict]:
    """A language model's training data: its token stream opened from the memory-mapped cache
    against tokenised afresh, as tokens made ready per second; and training windows sampled from
    the uint16 map against from an int64 array in memory, the loader's ceiling to set beside the
    training rows."""
    from seqlab.data.text import TextTokenizer, token_stream
    from seqlab.tasks.text import LMTask

    tokenizer = TextTokenizer.train("char", [text])
    task = LMTask(lm_config("transformer", sizes), tokenizer)
    cpu = torch.device("cpu")

    def sample(stream: np.ndarray) -> int:
        """Tokens in 200 training batches drawn from `stream`."""
        batches = task.batches(stream, sizes.batch, torch.Generator().manual_seed(0))
        return sum(batch.inputs.numel() for _, batch in itertools.islice(batches, 200))

    with tempfile.TemporaryDirectory() as tmp:
        tokens = len(token_stream(text, tokenizer, Path(tmp)))  # tokenises and writes the cache
        tokenised = tokens * _repeat(lambda: token_stream(text, tokenizer, None), cpu, 0.5, chunk=1)
        opened = tokens * _repeat(lambda: token_stream(text, tokenizer, Path(tmp)), cpu, 0.5, chunk=1)
        mapped = token_stream(text, tokenizer, Path(tmp))
        array = np.array(mapped, dtype=np.int64)
        window_tokens = sample(mapped)
        in_memory = window_tokens * _repeat(lambda: sample(array), cpu, 0.5, chunk=1)
        from_map = window_tokens * _repeat(lambda: sample(mapped), cpu, 0.5, chunk=1)
    return [
        lever_row(
            "pre-tokenised stream, memory-mapped (off: tokenised at the start of a run)",
            tokenised,
            opened,
            "tokens ready/s",
        ),
        lever_row(
            f"training windows from the uint16 memory map (off: an int64 array in memory), "
            f"batch {sizes.batch} x {sizes.context}",
            in_memory,
            from_map,
        ),
    ]


def _packing_lever(text: str, sizes: Sizes, device: torch.device) -> dict:
    """Real tokens/s of a training step (forward and backward) of seqlab's GRU language model on
    lines of different lengths: the padding packed away, as seqlab's encoder does given the real
    mask, against run through the recurrence with a mask of all ones."""
    from seqlab.data.batch import IGNORE_INDEX, Batch, pad
    from seqlab.model import build_model

    index = char_index(text)
    lines = [line for line in text.splitlines() if len(line) > 1]
    order = torch.randperm(len(lines), generator=torch.Generator().manual_seed(0))
    chosen = order[: sizes.rnn_batch].tolist()
    ids = pad([[index[c] for c in lines[i]] for i in chosen]).to(device)  # (B, T)
    lengths = torch.tensor([len(lines[i]) for i in chosen], device=device)
    real = (
        torch.arange(ids.shape[1] - 1, device=device) < (lengths - 1)[:, None]
    )  # (B, T - 1) next-token positions
    targets = ids[:, 1:].masked_fill(~real, IGNORE_INDEX)
    torch.manual_seed(0)
    model = build_model(lm_config("gru", sizes), vocab_size=len(index)).to(device)

    def rate(mask: torch.Tensor) -> float:
        batch = Batch(inputs=ids[:, :-1], mask=mask, targets=targets)
        model(batch).loss_sum.backward()  # warm-up
        peers.synchronize(device)
        started = time.perf_counter()
        for _ in range(sizes.steps):
            model(batch).loss_sum.backward()
        peers.synchronize(device)
        return int(real.sum()) * sizes.steps / (time.perf_counter() - started)

    padded = rate(torch.ones_like(real))
    packed = rate(real)
    return lever_row(
        f"packed sequences, GRU, batches of {len(chosen)} lines (off: padding run through)", padded, packed
    )


def _bucketing_lever(text: str, sizes: Sizes) -> dict:
    """Share of padded positions when lines of the corpus are batched by length (seqlab's
    `length_buckets`) against batched in random order."""
    from seqlab.data.batch import length_buckets

    lengths = [len(line) for line in text.splitlines() if line.strip()][:20_000]
    batch = sizes.rnn_batch

    def padding(batches: list[list[int]]) -> float:
        real = sum(lengths[i] for b in batches for i in b)
        padded = sum(max(lengths[i] for i in b) * len(b) for b in batches)
        return 1 - real / padded

    generator = torch.Generator().manual_seed(0)
    bucketed = padding(length_buckets(lengths, batch, generator))
    order = torch.randperm(len(lengths), generator=generator).tolist()
    shuffled = padding([order[i : i + batch] for i in range(0, len(order), batch)])
    return {
        "lever": f"length bucketing, batches of {batch} lines",
        "off": shuffled,
        "on": bucketed,
        "unit": "padded share",
        "ratio": shuffled / bucketed if bucketed else None,
    }


# ---------------------------------------------------------------------------------------------
# Profiles: where the time of a row goes


def profiles(out: Path, sizes: Sizes, device: torch.device) -> dict[str, Path]:
    """torch.profiler tables (operators by self time on `device`) of seqlab's transformer, LSTM and
    GRU training steps in fp32 and bf16 and of cached generation at batch 1, into `out`."""
    from seqlab.generation import GenerationConfig, generate
    from seqlab.model import build_model
    from seqlab.training.optim import make_optimizer

    vocab, written = 65, {}
    out.mkdir(parents=True, exist_ok=True)
    for encoder, batch in (("transformer", sizes.batch), ("lstm", sizes.rnn_batch), ("gru", sizes.rnn_batch)):
        torch.manual_seed(0)
        model = build_model(lm_config(encoder, sizes), vocab_size=vocab).to(device)
        step = lm_batch(vocab, batch, sizes.context, device)
        optimizer = make_optimizer(model, 1e-3, 0.0)
        for precision in ("fp32", "bf16"):

            def train_step():
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
                    out_ = model(step)
                out_.loss_sum.backward()
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)

            written[f"train-{encoder}-{precision}"] = _profiled(
                train_step, out / f"train-{encoder}-{precision}.txt", device
            )
        if ENCODERS[encoder].bounded_context:
            model.eval()
            prompt = torch.randint(vocab, (1, 16), device=device)
            settings = GenerationConfig(max_new_tokens=min(50, sizes.new_tokens), temperature=0)
            written["generate-transformer-cached"] = _profiled(
                lambda: generate(model, prompt, settings, contextlib.nullcontext, sizes.context),
                out / "generate-transformer-cached.txt",
                device,
                no_grad=True,
            )
    return written


def _profiled(work, path: Path, device: torch.device, no_grad: bool = False, rows: int = 25) -> Path:
    """Run `work` once to warm up, then once under torch.profiler; write the operator table, by self
    time on `device`, to `path`."""
    from torch.profiler import ProfilerActivity, profile

    cuda = device.type == "cuda"
    grad = torch.no_grad() if no_grad else contextlib.nullcontext()
    with grad:
        work()
        with profile(activities=[ProfilerActivity.CPU, *([ProfilerActivity.CUDA] if cuda else [])]) as prof:
            work()
            peers.synchronize(device)
    order = "self_cuda_time_total" if cuda else "self_cpu_time_total"
    atomic_write(path, prof.key_averages().table(sort_by=order, row_limit=rows) + "\n")
    return path


# ---------------------------------------------------------------------------------------------
# The run and its table


def run(out: Path, smoke: bool = False, profile: bool = False) -> dict:
    """Measure everything, write SPEED.md, speed.json and speed.png to `out` (and, with `profile`,
    operator tables to `out/profiles/`), and return the results."""
    from seqlab.training.hardware import pick_device

    device = pick_device()
    sizes = SMOKE if smoke else GPU if device.type == "cuda" else Sizes()
    name, text = corpus()
    if smoke:
        text = text[:20_000]
    _, vocab = char_ids(text)
    seconds = 0.05 if smoke else 0.5
    peaks = {p: matmul_peak(sizes.matmul, dtype, device, seconds) for p, dtype in PRECISIONS.items()}
    limit = {
        **{f"{p}_flops": peak["flops"] for p, peak in peaks.items()},
        **{f"{p}_flops_by_size": peak["by_size"] for p, peak in peaks.items()},
        "memory_bytes_per_second": memory_bandwidth(sizes.copy_megabytes, device),
    }
    with tempfile.TemporaryDirectory() as tmp:
        rounds = [training_rows(text, sizes, Path(tmp) / f"round-{i}", device) for i in range(sizes.rounds)]
        training = merged(rounds)
        for row in training.values():
            row["peak_share"] = (
                row["tokens_per_second"] * row["flops_per_token"] / limit[f"{row['precision']}_flops"]
            )
        generation = merged_generation([generation_rows(vocab, sizes, device) for _ in range(sizes.rounds)])
        prediction = prediction_row(sizes, Path(tmp))
    results = {
        "date": date.today().isoformat(),
        "machine": machine(device),
        "device": device.type,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "smoke": smoke,
        "corpus": name,
        "sizes": dataclasses.asdict(sizes),
        "limit": limit,
        "training": training,
        "generation": generation,
        "prediction": prediction,
        "startup": startup_seconds(),
        "levers": lever_rows(text, sizes, training, generation, device),
    }
    results["targets"] = targets(results)
    if profile:
        tables = profiles(out / "profiles", sizes, device)
        results["profiles"] = {name: str(path) for name, path in tables.items()}
    write(results, out)
    return results


PRECISIONS = {"fp32": torch.float32, "bf16": torch.bfloat16}


def merged(rounds: list[dict[str, dict]]) -> dict[str, dict]:
    """Rows measured in several interleaved rounds as one: the median tokens/s, with every round's."""
    rows = {}
    for name, row in rounds[0].items():
        rates = [r[name]["tokens_per_second"] for r in rounds]
        rows[name] = {**row, "tokens_per_second": statistics.median(rates), "rounds": rates}
    return rows


def merged_generation(rounds: list[dict[str, dict]]) -> dict[str, dict]:
    """Generation rows measured in several rounds as one: the median of each number, with every round's."""
    from seqlab.bench.measurements import medians

    return {name: medians([r[name] for r in rounds]) for name in rounds[0]}


def machine(device: torch.device | None = None) -> str:
    """The processor (and the GPU, where `device` is one) that a table was measured on."""
    device = device or torch.device("cpu")
    cpu = platform.processor()
    try:
        cpu = next(
            (l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), cpu
        )
    except OSError:
        pass
    host = f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.machine()}"
    return f"{torch.cuda.get_device_name(device)} (host: {host})" if device.type == "cuda" else host


def targets(r: dict) -> list[dict]:
    """The performance targets seqlab holds itself to, each with the measured ratio: for training and
    generation, the median over the interleaved rounds with its range; otherwise the one measurement."""
    t, g = r["training"], r["generation"]
    count = len(next(iter(g.values()))["rounds"])
    g_rounds = [{name: row["rounds"][i] for name, row in g.items()} for i in range(count)]
    rounds = [
        {name: row["rounds"][i] for name, row in t.items()}
        for i in range(len(r["training"][next(iter(t))]["rounds"]))
    ]
    gpu = r.get("device") == "cuda"
    share = 0.40 if gpu else 0.30  # a GPU's bound is set at GPT-2 small's size, the size its rows use
    peak = max(r["limit"]["bf16_flops"], r["limit"]["fp32_flops"])

    def seqlab_best(rate: dict) -> float:
        return max(rate["seqlab transformer fp32"], rate["seqlab transformer bf16"])

    found = [
        (
            "transformer LM training vs the plain fp32 loop",
            ">= 2.5x",
            [seqlab_best(rate) / rate["plain PyTorch transformer fp32"] for rate in rounds],
            2.5,
        ),
        (
            "transformer training, share of the best measured matmul peak (either precision)",
            f">= {share:.2f}",
            [seqlab_best(rate) * t["seqlab transformer fp32"]["flops_per_token"] / peak for rate in rounds],
            share,
        ),
        (
            "loop overhead: plain loop / seqlab at fp32, minus 1",
            "<= 0.05",
            [rate["plain PyTorch transformer fp32"] / rate["seqlab transformer fp32"] - 1 for rate in rounds],
            -0.05,
        ),
    ]
    if "transformers GPT-2 sdpa fp32" in t:
        found.append(
            (
                "transformer training vs transformers' GPT-2 on its faster attention path and precision",
                ">= 1.2x",
                [seqlab_best(rate) / max(v for k, v in rate.items() if "GPT-2" in k) for rate in rounds],
                1.2,
            )
        )
        new = r["sizes"]["peer_new_tokens"]
        found.append(
            (
                "cached generation vs transformers' GPT-2, batch 1",
                ">= 1.5x",
                [
                    rate[f"seqlab transformer, batch 1, {new} new"]["cached"]
                    / rate[f"transformers GPT-2, batch 1, {new} new"]["cached"]
                    for rate in g_rounds
                ],
                1.5,
            )
        )
    for cell in ("lstm", "gru"):
        found.append(
            (
                f"{cell.upper()} training vs fp32 nn.{cell.upper()} in a plain loop",
                ">= 1.8x",
                [
                    max(rate[f"seqlab {cell} fp32"], rate[f"seqlab {cell} bf16"])
                    / rate[f"plain nn.{cell.upper()} fp32"]
                    for rate in rounds
                ],
                1.8,
            )
        )
    new = r["sizes"]["new_tokens"]
    cached = [rate[f"seqlab transformer, batch 1, {new} new"] for rate in g_rounds]
    found.append(
        (
            f"cached vs uncached generation, transformer, {new} new tokens",
            ">= 5x",
            [rate["cached"] / rate["uncached"] for rate in cached],
            5.0,
        )
    )
    found.append(("`seqlab --help` wall time, seconds", "<= 0.3", [r["startup"]["seqlab --help"]], -0.3))
    if gpu:
        recurrent = [row for name, row in t.items() if name.startswith("seqlab") and "kernel" in row]
        found.append(
            (
                "share of seqlab's recurrent rows that ran cuDNN's kernels",
                "= 1",
                [sum(row["kernel"] == "cuDNN" for row in recurrent) / max(len(recurrent), 1)],
                1.0,
            )
        )
    # a negative bound is an upper limit on the value
    return [
        {
            "target": name,
            "wanted": wanted,
            "measured": statistics.median(values),
            "range": [min(values), max(values)],
            "met": statistics.median(values) >= bound if bound > 0 else statistics.median(values) <= -bound,
        }
        for name, wanted, values, bound in found
    ]


def write(r: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / "speed.json", json.dumps(r, indent=2) + "\n")
    atomic_write(out / "SPEED.md", markdown(r))
    plot(r, out / "speed.png")


def markdown(r: dict) -> str:
    limit, gpu = r["limit"], r.get("device") == "cuda"
    lines = [
        "# Benchmarks: speed",
        "",
        f"`seqlab bench speed`, {r['date']}, on {r['machine']}, torch {r['torch']}, {r['threads']} threads"
        + (" (smoke sizes: not a measurement)" if r["smoke"] else "")
        + f". Training text: {r['corpus']}.",
        "",
        "The limit, measured in the same run: the best of three timings of square matmuls of "
        f"{', '.join(str(n) for n in r['sizes']['matmul'])} rows, fp32 {limit['fp32_flops'] / 1e9:,.1f} "
        f"GFLOP/s and bf16 {limit['bf16_flops'] / 1e9:,.1f} GFLOP/s; memory copy "
        f"{limit['memory_bytes_per_second'] / 1e9:.1f} GB/s. Training rows ran {r['sizes']['rounds']} times, "
        "interleaved: a ratio is the median of the rounds' ratios, with their range.",
        "",
        "## Targets",
        "",
        "| target | wanted | measured | range | met |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {t['target']} | {t['wanted']} | {t['measured']:.3f} | {t['range'][0]:.3f}–{t['range'][1]:.3f} | "
        f"{'yes' if t['met'] else 'no'} |"
        for t in r["targets"]
    ]
    s = r["sizes"]
    lines += [
        "",
        "## Training",
        "",
        f"Tokens per second over {s['steps']} optimizer steps after {s['warmup']} of warm-up. Transformer: "
        f"{s['layers']} layers, {s['heads']} heads, {s['dim']} wide, context {s['context']}, "
        f"batch {s['batch']}; "
        f"recurrent: {s['rnn_layers']} layers of {s['rnn_hidden']}, batch {s['rnn_batch']}. Tokens/s is the "
        "median of the rounds; share of peak: tokens/s × training FLOPs per token (6N + 12LTD for the "
        "transformer) over the measured matmul peak of the row's precision. A model's mix of kernels can "
        "beat one square matmul's rate (small recurrent matmuls fit the cache), so a share near or above "
        "100% says the peak is a loose bound, not that the step is at the limit."
        + (
            " Peak memory: the most GPU memory allocated during the "
            "row; kernel: whether a training step of the recurrent model ran cuDNN's."
            if gpu
            else ""
        ),
        "",
        "| row | precision | parameters | tokens/s | rounds | share of peak |"
        + (" peak memory | kernel |" if gpu else ""),
        "|---|---|---|---|---|---|" + ("---|---|" if gpu else ""),
    ]
    for name, row in r["training"].items():
        line = (
            f"| {name} | {row['precision']} | {row['parameters']:,} | {row['tokens_per_second']:.0f} | "
            f"{min(row['rounds']):.0f}–{max(row['rounds']):.0f} | {row['peak_share']:.1%} |"
        )
        if gpu:
            line += f" {row['peak_memory'] / 2**30:.2f} GiB | {row.get('kernel', '')} |"
        lines.append(line)
    lines += [
        "",
        "## Generation",
        "",
        "Greedy, random weights, a 16-token prompt; the median of the rounds, and the range of the "
        "rounds' speed-ups.",
        "",
        "| model and setting | with cache/state, tokens/s | without, tokens/s | speed-up | range "
        "| first token |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in r["generation"].items():
        if "latency_seconds" in row:
            lines.append(f"| {name} | | | | | {row['latency_seconds'] * 1000:.1f} ms |")
        else:
            ratios = [one["cached"] / one["uncached"] for one in row["rounds"]]
            speedup = f"{statistics.median(ratios):.2f}x | {min(ratios):.2f}–{max(ratios):.2f}x"
            lines.append(f"| {name} | {row['cached']:.1f} | {row['uncached']:.1f} | {speedup} | |")
    if r["prediction"]:
        p = r["prediction"]
        lines += [
            "",
            f"Batch prediction: {p['texts_per_second']:.0f} reviews/s ({p['texts']} Fine Food reviews "
            "through a GRU classifier's `predict`, batch 64).",
        ]
    lines += ["", "## Start-up", "", "| command | seconds |", "|---|---|"]
    lines += [f"| `{name}` | {seconds:.3f} |" for name, seconds in r["startup"].items()]
    lines += ["", "## Levers", "", "| lever | off | on | on/off | note |", "|---|---|---|---|---|"]
    for lever in r["levers"]:
        fmt = (lambda v: f"{v:.1%}") if lever["unit"] == "padded share" else (lambda v: f"{v:.1f}")
        note = lever.get("failed") or (
            f"compiled in {lever['compile_seconds']:.0f} s" if "compile_seconds" in lever else lever["unit"]
        )
        lines.append(
            f"| {lever['lever']} | {fmt(lever['off'])} | "
            f"{'' if lever['on'] is None else fmt(lever['on'])} | "
            f"{'' if lever['ratio'] is None else format(lever['ratio'], '.2f') + 'x'} | {note} |"
        )
    return "\n".join(lines) + "\n"


def plot(r: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    names = list(r["training"])
    rates = [r["training"][n]["tokens_per_second"] for n in names]
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(names) + 1.2))
    colours = ["tab:blue" if n.startswith("seqlab") else "tab:gray" for n in names]
    ax.barh(names[::-1], rates[::-1], color=colours[::-1])
    ax.set_xlabel("training tokens per second")
    ax.set_title(f"seqlab (blue) and its peers, {r['machine']}", fontsize=9)
    fig.tight_layout()
    tmp = path.with_name(path.stem + ".tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, path)
