"""Decoding: a language model continues a prompt; a sequence-to-sequence model writes a target.

Greedy (temperature 0), sampling (temperature, top-k, top-p) and, for sequence to sequence, beam
search (beam size, length penalty, early stop once a source has `num_beams` ended hypotheses), all
batched. The state travels between steps (an RNN's hidden state, a transformer's KV cache, a TCN's
past frames), so each new token costs one step, not a pass over the whole prefix. `use_cache=False`
recomputes the prefix every step; it exists to check the cache and to measure what it saves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields

import torch

from seqlab.config import DECODING_RANGES
from seqlab.data.batch import PAD_ID, Batch
from seqlab.data.text import BOS, EOS
from seqlab.errors import UserError
from seqlab.training.hardware import device_of


@dataclass
class GenerationConfig:
    """How to decode: given per call, never stored with the model."""

    max_new_tokens: int = 200
    temperature: float = 1.0  # 0: greedy
    top_k: int | None = None
    top_p: float | None = None
    seed: int | None = None
    use_cache: bool = True
    num_beams: int = 1  # sequence to sequence: > 1 searches with this many beams (temperature is then unused)
    length_penalty: float = 1.0  # beam search ranks ended hypotheses by log-probability / length ** this

    @classmethod
    def of(cls, **options) -> GenerationConfig:
        """Settings from keyword options, refusing names that are not decoding options."""
        known = [f.name for f in fields(cls)]
        unknown = [name for name in options if name not in known]
        if unknown:
            raise UserError(f"unknown decoding option '{unknown[0]}'; known: {', '.join(known)}")
        return cls(**options).check()

    def check(self) -> GenerationConfig:
        for name, allowed in DECODING_RANGES.items():
            allowed.check(name, getattr(self, name))
        return self


def next_token(
    logits: torch.Tensor, settings: GenerationConfig, generator: torch.Generator | None
) -> torch.Tensor:
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
def generate(
    model,
    prompt: torch.Tensor,
    settings: GenerationConfig,
    autocast,
    context: int | None,
    on_token: Callable[[torch.Tensor], None] | None = None,
) -> torch.Tensor:
    """Continue each row of `prompt` (B, T) by `max_new_tokens` tokens; returns only the new ones.

    `context`: the most positions the model can see (an encoder with `bounded_context`), or None.
    `on_token(tokens)` hears each step's (B,) new tokens as they come (a server streams them).
    """
    model.eval()
    prompt = prompt.to(device_of(model))
    generator = (
        torch.Generator(prompt.device).manual_seed(settings.seed) if settings.seed is not None else None
    )
    tokens = prompt
    state, seen = None, 0  # seen: the positions the state holds
    feed = prompt if context is None else prompt[:, -context:]
    new = []
    for _ in range(settings.max_new_tokens):
        if not settings.use_cache:
            state, seen = None, 0
            feed = tokens if context is None else tokens[:, -context:]
        elif context is not None and seen + feed.shape[1] > context:
            state, seen = None, 0  # the context is full: start again from the last half-context of tokens
            feed = tokens[:, -(context // 2) :]
        batch = Batch(inputs=feed, mask=torch.ones_like(feed, dtype=torch.bool))
        with autocast():
            out = model(batch, state)
        state, seen = out.state, seen + feed.shape[1]
        token = next_token(out.logits[:, -1], settings, generator)  # (B,)
        new.append(token)
        if on_token is not None:
            on_token(token)
        tokens = torch.cat([tokens, token[:, None]], dim=1)
        feed = token[:, None]
    return torch.stack(new, dim=1) if new else prompt[:, :0]


# ---------------------------------------------------------------------------------------------
# Sequence to sequence


@torch.no_grad()
def decode(model, batch: Batch, settings: GenerationConfig, autocast, limit: int) -> list[list[int]]:
    """A target (token ids, without [EOS]) for every source of `batch`, at most `limit` tokens long."""
    model.eval()
    with autocast():
        start = model.head.start(model.encode(batch), batch)

    def step(feed: torch.Tensor, state):  # (N, T) → (N, V) float logits of the next token
        with autocast():
            logits, state = model.head.step(feed, state)
        return logits[:, -1].float(), state

    limit = min(settings.max_new_tokens, limit)
    if settings.num_beams > 1:
        return _beam_search(step, start, len(batch), settings, limit)
    return _sample(step, start, len(batch), settings, limit)


def _sample(step, start, B: int, settings: GenerationConfig, limit: int) -> list[list[int]]:
    """Greedy or sampled decoding; a row that has ended takes padding until every row has."""
    generator = torch.Generator().manual_seed(settings.seed) if settings.seed is not None else None
    tokens = torch.full((B, 1), BOS)
    ended = torch.zeros(B, dtype=torch.bool)
    state = start
    for _ in range(limit):
        feed, state = (tokens[:, -1:], state) if settings.use_cache else (tokens, start)
        logits, state = step(feed, state)
        token = next_token(logits, settings, generator).masked_fill(ended, PAD_ID)  # (B,)
        tokens = torch.cat([tokens, token[:, None]], dim=1)
        ended |= token == EOS
        if ended.all():
            break
    return [_until_end(row) for row in tokens[:, 1:].tolist()]


def _beam_search(step, start, B: int, settings: GenerationConfig, limit: int) -> list[list[int]]:
    """Batched beam search: K live hypotheses per source in rows b*K … b*K + K - 1.

    Each step ranks the K × V continuations of a source, sets aside those among the K best that
    end ([EOS]) and goes on with the K best that do not. A source is done once K hypotheses have
    ended; the winner has the highest log-probability / length ** length_penalty.
    """
    K = settings.num_beams
    start = start.select(torch.arange(B).repeat_interleave(K))  # (B*K, …)
    state = start
    tokens = torch.full((B * K, 1), BOS)
    scores = torch.full((B, K), float("-inf"))
    scores[:, 0] = 0.0  # one live hypothesis per source at first
    ended: list[list[tuple[float, list[int]]]] = [[] for _ in range(B)]
    for t in range(limit):
        feed, state = (tokens[:, -1:], state) if settings.use_cache else (tokens, start)
        logits, state = step(feed, state)
        V = logits.shape[-1]
        candidates = (scores.unsqueeze(-1) + logits.log_softmax(-1).view(B, K, V)).view(B, K * V)
        top, index = candidates.topk(2 * K, dim=1)  # (B, 2K): at most K of them end, one per beam
        beam, token = index // V, index % V
        is_end = token == EOS
        for b, r in (is_end[:, :K]).nonzero().tolist():
            if len(ended[b]) < K:
                ended[b].append(
                    (
                        top[b, r].item() / (t + 1) ** settings.length_penalty,
                        tokens[b * K + beam[b, r], 1:].tolist(),
                    )
                )
        go_on = torch.argsort(is_end.to(torch.int8), dim=1, stable=True)[:, :K]  # the K best that do not end
        scores = top.gather(1, go_on)
        origin = (torch.arange(B).unsqueeze(1) * K + beam.gather(1, go_on)).view(-1)  # (B*K,)
        tokens = torch.cat([tokens[origin], token.gather(1, go_on).view(-1, 1)], dim=1)
        state = state.select(origin) if settings.use_cache else state
        if all(len(e) >= K for e in ended):
            break
    length = tokens.shape[1] - 1
    for b in range(B):  # sources without K ended hypotheses: their live ones compete too
        ended[b] += [
            (scores[b, k].item() / max(length, 1) ** settings.length_penalty, tokens[b * K + k, 1:].tolist())
            for k in range(K)
            if len(ended[b]) < K and scores[b, k] > float("-inf")
        ]
    return [max(e, key=lambda hypothesis: hypothesis[0])[1] for e in ended]


def _until_end(ids: list[int]) -> list[int]:
    return ids[: ids.index(EOS)] if EOS in ids else ids
