from __future__ import annotations

import contextlib

import pytest
import torch
from conftest import ENCODERS, tiny

from seqlab.generation import GenerationConfig, generate, next_token
from seqlab.model import build_model
from seqlab.registry import ENCODERS as ENCODER_SPECS


@pytest.mark.parametrize("encoder", ENCODERS)
def test_cached_generation_equals_recomputing_the_prefix(encoder):
    torch.manual_seed(0)
    config = tiny("lm", encoder, **{"data.block_size": 64})
    model = build_model(config, vocab_size=30)
    prompt = torch.randint(4, 30, (3, 5))
    settings = GenerationConfig(max_new_tokens=20, temperature=0)
    context = 64 if ENCODER_SPECS[encoder].bounded_context else None  # the block size
    cached = generate(model, prompt, settings, contextlib.nullcontext, context)
    settings.use_cache = False
    full = generate(model, prompt, settings, contextlib.nullcontext, context)
    assert cached.shape == (3, 20)
    assert torch.equal(cached, full)


def test_transformer_generates_past_its_context_with_a_cache():
    torch.manual_seed(0)
    model = build_model(tiny("lm", "transformer", **{"data.block_size": 16}), vocab_size=30)
    out = generate(
        model,
        torch.randint(4, 30, (1, 10)),
        GenerationConfig(max_new_tokens=40, seed=1),
        contextlib.nullcontext,
        context=16,
    )
    assert out.shape == (1, 40)


def test_sampling_filters():
    logits = torch.tensor([[4.0, 3.0, 2.0, 1.0, 0.0]])
    generator = torch.Generator().manual_seed(0)
    top_k = {int(next_token(logits, GenerationConfig(top_k=2), generator)) for _ in range(200)}
    assert top_k == {0, 1}
    # p(0) ≈ 0.64, p(0)+p(1) ≈ 0.88: top_p=0.7 keeps tokens 0 and 1 only
    top_p = {int(next_token(logits, GenerationConfig(top_p=0.7), generator)) for _ in range(300)}
    assert top_p == {0, 1}
    assert int(next_token(logits, GenerationConfig(temperature=0), None)) == 0


def test_seeded_sampling_repeats():
    torch.manual_seed(0)
    model = build_model(tiny("lm", "gru"), vocab_size=30)
    prompt = torch.randint(4, 30, (2, 4))
    settings = GenerationConfig(max_new_tokens=15, temperature=1.0, top_p=0.9, seed=7)
    first = generate(model, prompt, settings, contextlib.nullcontext, None)
    assert torch.equal(first, generate(model, prompt, settings, contextlib.nullcontext, None))
