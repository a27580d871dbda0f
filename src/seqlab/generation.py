"""Text generation from a language model: sampling with temperature, top-k and top-p.

The encoder's state travels between steps (an RNN's hidden state, a transformer's KV cache), so
each new token costs one step, not a pass over the whole prefix. `use_cache=False` recomputes the
prefix every step; it exists to measure what the cache saves.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from seqlab.data.batch import Batch
from seqlab.errors import UserError


@dataclass
class GenerationConfig:
    """How to decode: given per call, never stored with the model."""

    max_new_tokens: int = 200
    temperature: float = 1.0  # 0: greedy
    top_k: int | None = None
    top_p: float | None = None
    seed: int | None = None
    use_cache: bool = True

    def check(self) -> GenerationConfig:
        if self.max_new_tokens < 0:
            raise UserError("max_new_tokens must be 0 or more")
        if self.temperature < 0:
            raise UserError("temperature must be 0 (greedy) or more")
        if self.top_k is not None and self.top_k < 1:
            raise UserError("top_k must be at least 1")
        if self.top_p is not None and not 0 < self.top_p <= 1:
            raise UserError("top_p must be in (0, 1]")
        return self


def next_token(logits: torch.Tensor, settings: GenerationConfig, generator: torch.Generator | None) -> torch.Tensor:
    """(B, V) logits → (B,) token ids."""
    if settings.temperature == 0:
        return logits.argmax(dim=-1)
    logits = logits.float() / settings.temperature
    if settings.top_k is not None:
        kth = torch.topk(logits, min(settings.top_k, logits.shape[-1])).values[:, -1:]  # (B, 1)
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if settings.top_p is not None and settings.top_p < 1:
        sorted_logits, order = logits.sort(dim=-1, descending=True)
        cumulative = sorted_logits.softmax(-1).cumsum(-1)
        drop = cumulative - sorted_logits.softmax(-1) >= settings.top_p  # keep the first token past p
        logits = logits.scatter(-1, order, sorted_logits.masked_fill(drop, float("-inf")))
    probs = logits.softmax(-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(1)


@torch.no_grad()
def generate(model, prompt: torch.Tensor, settings: GenerationConfig, autocast, context: int | None) -> torch.Tensor:
    """Continue each row of `prompt` (B, T) by `max_new_tokens` tokens; returns only the new ones.

    `context`: the most positions the model can attend to (learned positions), or None.
    """
    model.eval()
    generator = torch.Generator().manual_seed(settings.seed) if settings.seed is not None else None
    tokens = prompt
    state = None
    feed = prompt if context is None else prompt[:, -context:]
    new = []
    for _ in range(settings.max_new_tokens):
        if not settings.use_cache:
            state = None
            feed = tokens if context is None else tokens[:, -context:]
        elif context is not None and state is not None and _cached(state) + feed.shape[1] > context:
            state = None  # the cache is full: start again from the last half-context of tokens
            feed = tokens[:, -(context // 2):]
        batch = Batch(inputs=feed, mask=torch.ones_like(feed, dtype=torch.bool))
        with autocast():
            out = model(batch, state)
        state = out.state
        token = next_token(out.logits[:, -1], settings, generator)  # (B,)
        new.append(token)
        tokens = torch.cat([tokens, token[:, None]], dim=1)
        feed = token[:, None]
    return torch.stack(new, dim=1) if new else prompt[:, :0]


def _cached(state) -> int:
    """Positions held in a transformer KV cache; 0 for recurrent state, which has no limit."""
    if isinstance(state, list):
        return state[0][0].shape[2]
    return 0
