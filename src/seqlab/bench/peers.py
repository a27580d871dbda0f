"""The peers seqlab is timed against, written with no seqlab in them: a nanoGPT-style transformer
and `nn.LSTM`/`nn.GRU`/`nn.RNN` language models in a plain PyTorch loop, and Hugging Face
transformers' GPT-2 at the same configuration.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F


class PlainBlock(nn.Module):
    """Pre-norm causal self-attention and MLP, as in nanoGPT's model.py."""

    def __init__(self, dim: int, heads: int, sdpa: bool = True):
        super().__init__()
        self.heads, self.sdpa = heads, sdpa
        self.ln1, self.ln2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def attend(self, x: torch.Tensor) -> torch.Tensor:
        B, T, D = x.shape
        q, k, v = (
            self.qkv(x).view(B, T, 3, self.heads, D // self.heads).permute(2, 0, 3, 1, 4)
        )  # (B, h, T, d)
        if self.sdpa:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:  # the attention matrix written out, as before fused kernels
            scores = (q @ k.transpose(-2, -1)) / (k.shape[-1] ** 0.5)  # (B, h, T, T)
            causal = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()
            y = scores.masked_fill(~causal, float("-inf")).softmax(-1) @ v
        return self.proj(y.transpose(1, 2).reshape(B, T, D))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attend(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class PlainGPT(nn.Module):
    """A character GPT: token and position embeddings, blocks, a tied output layer."""

    def __init__(self, vocab: int, dim: int, layers: int, heads: int, context: int, sdpa: bool = True):
        super().__init__()
        self.tokens, self.positions = nn.Embedding(vocab, dim), nn.Embedding(context, dim)
        self.blocks = nn.ModuleList(PlainBlock(dim, heads, sdpa) for _ in range(layers))
        self.ln = nn.LayerNorm(dim)

    def forward(self, ids: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        x = self.tokens(ids) + self.positions(torch.arange(ids.shape[1], device=ids.device))  # (B, T, D)
        for block in self.blocks:
            x = block(x)
        logits = self.ln(x) @ self.tokens.weight.T  # (B, T, V)
        return F.cross_entropy(logits.flatten(0, 1).float(), targets.flatten())


class PlainRecurrentLM(nn.Module):
    """Embedding → `nn.LSTM`/`nn.GRU`/`nn.RNN` → linear."""

    def __init__(self, cell: str, vocab: int, dim: int, hidden: int, layers: int):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.rnn = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[cell](
            dim, hidden, layers, batch_first=True
        )
        self.out = nn.Linear(hidden, vocab)

    def forward(self, ids: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        hidden, _ = self.rnn(self.embed(ids))  # (B, T, H)
        return F.cross_entropy(self.out(hidden).flatten(0, 1).float(), targets.flatten())


def windows(data: torch.Tensor, batch: int, context: int, generator: torch.Generator):
    """Random (inputs, targets) windows of `context` tokens from a 1-d token tensor, nanoGPT's get_batch."""
    starts = torch.randint(len(data) - context - 1, (batch,), generator=generator)
    rows = torch.stack([data[s : s + context + 1] for s in starts.tolist()])  # (B, T + 1)
    return rows[:, :-1], rows[:, 1:]


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work, so that a clock read after it counts that work."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def plain_loop(
    model: nn.Module,
    data: torch.Tensor,
    batch: int,
    context: int,
    steps: int,
    warmup: int,
    bf16: bool = False,
    fused: bool | None = None,
    loss_fn: Callable | None = None,
    device: torch.device | None = None,
) -> float:
    """Train `model` on `device` (the CPU by default) for `warmup + steps` AdamW steps with gradient
    clipping, as nanoGPT's train.py does; returns the tokens per second of the last `steps`."""
    device = device or torch.device("cpu")
    model.to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, fused=fused)
    generator = torch.Generator().manual_seed(0)
    loss_fn = loss_fn or (lambda m, x, y: m(x, y))
    model.train()
    for step in range(warmup + steps):
        if step == warmup:
            synchronize(device)
            started = time.perf_counter()
        x, y = (t.to(device, non_blocking=True) for t in windows(data, batch, context, generator))
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            loss = loss_fn(model, x, y)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    synchronize(device)
    return batch * context * steps / (time.perf_counter() - started)


def hf_gpt2(vocab: int, dim: int, layers: int, heads: int, context: int, attention: str = "sdpa"):
    """transformers' GPT2LMHeadModel at this size (no dropout; `attention`: sdpa, or eager, its
    attention written out), or None, with a warning, where transformers is not installed."""
    try:
        from transformers import GPT2Config, GPT2LMHeadModel
    except ImportError:
        warnings.warn(
            "transformers is not installed, so the GPT-2 rows and their targets are left out; "
            "pip install 'seqlab[bench]' (make bench-speed does) to include them"
        )
        return None
    config = GPT2Config(
        vocab_size=vocab,
        n_positions=context,
        n_embd=dim,
        n_layer=layers,
        n_head=heads,
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        bos_token_id=0,
        eos_token_id=0,
    )
    config._attn_implementation = attention
    return GPT2LMHeadModel(config)


def hf_loss(model, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    logits = model(input_ids=x).logits  # (B, T, V)
    return F.cross_entropy(logits.flatten(0, 1).float(), y.flatten())


def hf_generate(model, prompt: torch.Tensor, new_tokens: int, use_cache: bool, bf16: bool) -> float:
    """Greedy tokens per second of transformers' `generate`, on the model's device."""
    model.eval()
    device = next(model.parameters()).device
    prompt = prompt.to(device)
    synchronize(device)
    started = time.perf_counter()
    with torch.no_grad(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
        model.generate(
            prompt,
            attention_mask=torch.ones_like(prompt),
            max_new_tokens=new_tokens,
            min_new_tokens=new_tokens,
            do_sample=False,
            use_cache=use_cache,
            pad_token_id=0,
        )
    synchronize(device)
    return prompt.shape[0] * new_tokens / (time.perf_counter() - started)
