"""CRF against brute force; the loss average that the training loop relies on."""

from __future__ import annotations

import contextlib
import itertools

import torch

from seqlab.modules.crf import CRF


def _brute_force(crf: CRF, emissions: torch.Tensor, length: int):
    K = emissions.shape[-1]
    scores = {}
    for path in itertools.product(range(K), repeat=length):
        s = crf.start[path[0]] + crf.end[path[-1]] + sum(emissions[t, path[t]] for t in range(length))
        s = s + sum(crf.transitions[path[t - 1], path[t]] for t in range(1, length))
        scores[path] = s
    return scores


def test_crf_likelihood_decoding_and_marginals_match_brute_force():
    torch.manual_seed(0)
    K, T = 3, 4
    crf = CRF(K)
    with torch.no_grad():
        for p in crf.parameters():
            p.normal_()
    emissions = torch.randn(2, T, K)
    mask = torch.tensor([[True] * T, [True, True, True, False]])
    tags = torch.tensor([[0, 2, 1, 1], [2, 2, 0, 0]])
    nll = crf.nll(emissions, tags, mask)
    best = crf.decode(emissions, mask)
    marginals = crf.marginals(emissions, mask)
    for row, length in enumerate((4, 3)):
        scores = _brute_force(crf, emissions[row], length)
        log_z = torch.logsumexp(torch.stack(list(scores.values())), 0)
        gold = tuple(tags[row, :length].tolist())
        torch.testing.assert_close(nll[row], log_z - scores[gold], atol=1e-4, rtol=1e-4)
        assert tuple(best[row, :length].tolist()) == max(scores, key=lambda p: scores[p].item())
        for t in range(length):
            for k in range(K):
                expected = sum(torch.exp(s - log_z) for p, s in scores.items() if p[t] == k)
                torch.testing.assert_close(marginals[row, t, k], expected, atol=1e-4, rtol=1e-4)
    assert marginals[1, 3].sum() == 0


def test_accumulated_micro_batches_give_the_gradient_of_the_whole_batch(splits):
    """Two micro-batches of unequal token counts must average over tokens, not over batches."""
    from conftest import tiny

    from seqlab.model import build_model
    from seqlab.tasks import TagTask
    from seqlab.training.loop import _accumulate, _scale_gradients

    config = tiny("tag", "gru")
    task = TagTask(config)
    task.fit(splits["tag"]["train"])
    examples = task.encode(splits["tag"]["train"][:6])
    torch.manual_seed(0)
    model = build_model(config, **task.model_sizes())

    def gradients(micro):
        model.zero_grad()
        _, count = _accumulate(model, micro, contextlib.nullcontext)
        _scale_gradients(model, 1.0 / count)
        return [p.grad.clone() for p in model.parameters() if p.grad is not None]

    whole = gradients([task.collate(examples)])
    split = gradients([task.collate(examples[:1]), task.collate(examples[1:])])
    for a, b in zip(whole, split):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-4)


def test_attention_written_out_in_bf16_matches_the_fused_kernel():
    from torch.nn import functional as F

    from seqlab.encoders.transformer import WRITTEN_OUT_KEYS, dot_product_attention

    torch.manual_seed(0)
    q, k, v = torch.randn(3, 2, 4, 5, 8).unbind(0)  # (B, heads, T, head_dim) each
    prefix = torch.ones(2, 5, dtype=torch.bool).tril(3)  # two new tokens after a cached prefix of three
    keys = torch.tensor([[True] * 5, [True] * 3 + [False] * 2])[:, None, None, :]  # padding
    for queries, mask, causal in (
        (q, None, True),
        (q[:, :, 3:], prefix, False),
        (q, keys, False),
        (q, None, False),
    ):
        expected = F.scaled_dot_product_attention(queries, k, v, attn_mask=mask, is_causal=causal)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            written = dot_product_attention(queries, k, v, mask, causal, 0.0)
        assert written.dtype == torch.bfloat16
        assert torch.allclose(written.float(), expected, atol=0.05), (mask, causal)
    long = torch.randn(1, 1, WRITTEN_OUT_KEYS + 1, 8)
    with torch.autocast("cpu", dtype=torch.bfloat16):  # past the bound, the fused kernel again
        assert torch.equal(
            dot_product_attention(long, long, long, None, True, 0.0),
            F.scaled_dot_product_attention(long, long, long, is_causal=True),
        )
