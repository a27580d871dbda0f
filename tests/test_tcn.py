"""The temporal convolutional network: padding, causality, the generation cache (encoder and decoder),
beam reordering, the receptive field, training, safetensors and bf16 autocast."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from safetensors.torch import load_model, save_model

from seqlab.encoders import EncoderOutput
from seqlab.encoders.tcn import TCNDecoder, TCNEncoder, TCNSettings, build_decoder, build_encoder

D, H, M = 5, 8, 7  # input, hidden and memory widths


def _lively(module: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Weights large enough that every input moves every output it reaches (the paper's N(0, 0.01)
    start leaves outputs close to the biases); eval mode, no dropout."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.normal_(std=0.5)
    return module.eval()


def _encoder(causal: bool = True, kernel_size: int = 3, num_layers: int = 3) -> TCNEncoder:
    return _lively(TCNEncoder(D, H, num_layers, kernel_size, dropout=0.0, causal=causal))


def _decoder(attention: str = "luong") -> TCNDecoder:
    return _lively(TCNDecoder(6, H, 3, M, kernel_size=3, attention=attention))


def _source() -> tuple[EncoderOutput, torch.Tensor]:
    memory = torch.randn(3, 5, M)
    mask = torch.tensor([[True] * 5, [True, True, True, False, False], [True] * 4 + [False]])
    return EncoderOutput(hidden=memory, pooled=memory.mean(1)), mask


def _ones(x: torch.Tensor) -> torch.Tensor:
    return torch.ones(x.shape[:2], dtype=torch.bool)


@pytest.mark.parametrize("causal,kernel_size", [(True, 3), (False, 3), (False, 2)])
def test_padding_never_changes_a_result(causal, kernel_size):
    encoder = _encoder(causal, kernel_size)
    lengths = [12, 7, 3]
    x = torch.randn(3, 12, D) * 3  # what lies in the padding must not matter
    mask = torch.arange(12) < torch.tensor(lengths)[:, None]
    out = encoder(x, mask)
    assert out.hidden.shape == (3, 12, H) and out.pooled.shape == (3, H)
    for row, length in enumerate(lengths):
        alone = encoder(x[row : row + 1, :length], _ones(x[row : row + 1, :length]))
        torch.testing.assert_close(out.hidden[row, :length], alone.hidden[0], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(out.pooled[row], alone.pooled[0], atol=1e-5, rtol=1e-5)
    expected = out.hidden[1, 6] if causal else out.hidden[1, :7].mean(0)  # last real vector, or the mean
    torch.testing.assert_close(out.pooled[1], expected)


@pytest.mark.parametrize("causal", [True, False])
def test_a_causal_position_never_sees_the_future_and_a_centred_one_does(causal):
    encoder = _encoder(causal)
    x = torch.randn(2, 16, D)
    later = x.clone()
    later[:, 9:] = torch.randn(2, 7, D)
    before, after = encoder(x, _ones(x)).hidden, encoder(later, _ones(x)).hidden
    assert (before[:, 9:] - after[:, 9:]).abs().amax() > 1e-2
    if causal:
        torch.testing.assert_close(before[:, :9], after[:, :9], atol=0.0, rtol=0.0)
    else:
        assert (before[:, 8] - after[:, 8]).abs().amax() > 1e-2


def test_receptive_field():
    assert _encoder(kernel_size=3, num_layers=3).receptive_field == 1 + 2 * 2 * (1 + 2 + 4) == 29
    assert _encoder(kernel_size=2, num_layers=4).receptive_field == 1 + 2 * 1 * 15 == 31
    assert _encoder(kernel_size=5, num_layers=1).receptive_field == 9
    encoder = _encoder(kernel_size=3, num_layers=3)
    x = torch.randn(1, 40, D)
    t, field = 39, encoder.receptive_field
    base = encoder(x, _ones(x)).hidden[0, t]
    for s, reached in ((t - field, False), (t - field + 1, True)):  # just outside, then the oldest it reads
        moved = x.clone()
        moved[0, s] += 5.0
        change = (encoder(moved, _ones(x)).hidden[0, t] - base).abs().amax().item()
        assert (change > 1e-4) == reached, (s, change)


def test_the_cache_replays_one_pass_at_a_fixed_size():
    encoder = _encoder(causal=True)
    x = torch.randn(2, 24, D)
    full = encoder(x, _ones(x))
    for prompt in (2, 9):  # shorter and longer than the widest convolution's span (8)
        out = encoder(x[:, :prompt], _ones(x[:, :prompt]))
        pieces, state = [out.hidden], out.state
        shapes = [tuple(c.shape) for c in state]
        assert shapes == [(2, D, 2), (2, H, 2), (2, H, 4), (2, H, 4), (2, H, 8), (2, H, 8)]
        assert sum(c.shape[2] for c in state) == encoder.receptive_field - 1
        chunks = [(prompt, prompt + 3)] + [(t, t + 1) for t in range(prompt + 3, 24)]  # 3 frames, then one
        for a, b in chunks:
            out = encoder(x[:, a:b], _ones(x[:, a:b]), out.state)
            pieces.append(out.hidden)
            assert [tuple(c.shape) for c in out.state] == shapes
        torch.testing.assert_close(torch.cat(pieces, 1), full.hidden, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(out.pooled, full.pooled, atol=1e-5, rtol=1e-5)


def test_a_non_causal_encoder_carries_no_state():
    encoder = _encoder(causal=False)
    x = torch.randn(2, 6, D)
    assert encoder(x, _ones(x)).state is None
    with pytest.raises(ValueError):
        encoder(x, _ones(x), [torch.zeros(2, D, 2)])


@pytest.mark.parametrize("attention", ["luong", "bahdanau"])
def test_the_decoder_cache_replays_the_whole_target(attention):
    decoder = _decoder(attention)
    encoded, mask = _source()
    x = torch.randn(3, 11, 6)
    whole, whole_state = decoder(x, decoder.start(encoded, mask))
    assert whole.shape == (3, 11, H) and whole_state.positions == 11 and whole_state.cache_dim == 0
    assert whole_state.attention.shape == (3, 11, 5)
    assert whole_state.attention[1, :, 3:].abs().max() == 0  # padded source positions get no weight
    state, pieces = decoder.start(encoded, mask), []
    for t in range(11):
        y, state = decoder(x[:, t : t + 1], state)
        pieces.append(y)
        assert [c.shape[2] for c in state.cache] == [2, 2, 4, 4, 8, 8] and state.positions == t + 1
    torch.testing.assert_close(torch.cat(pieces, 1), whole, atol=1e-5, rtol=1e-5)
    for a, b in zip(state.cache, whole_state.cache):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    decoder.train()
    assert decoder(x, decoder.start(encoded, mask))[1].attention is None


def test_selecting_rows_of_the_decoder_state_selects_their_futures():
    decoder = _decoder()
    encoded, mask = _source()
    _, state = decoder(torch.randn(3, 4, 6), decoder.start(encoded, mask))
    index = torch.tensor([2, 0, 0, 1])  # beam search: rows reordered and repeated
    chosen = state.select(index)
    assert isinstance(chosen.cache, list) and chosen.positions == 4
    for a, b in zip(chosen.cache, state.cache):
        assert torch.equal(a, b[index])
    following = torch.randn(3, 2, 6)
    expected, _ = decoder(following, state)
    got, _ = decoder(following[index], chosen)
    torch.testing.assert_close(got, expected[index], atol=1e-6, rtol=1e-6)


def test_it_learns_a_next_frame_regression():
    torch.manual_seed(0)
    encoder = TCNEncoder(4, 16, 2, kernel_size=3, dropout=0.0, causal=True)
    readout = torch.nn.Linear(16, 4)
    series = torch.randn(1, 33, 4)
    x, y = series[:, :-1], series[:, 1:]
    optimizer = torch.optim.Adam([*encoder.parameters(), *readout.parameters()], lr=2e-2)
    losses = []
    for _ in range(40):
        loss = torch.nn.functional.mse_loss(readout(encoder(x, _ones(x)).hidden), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.6 * losses[0], losses  # 1.10 → 0.47 when written


def test_safetensors_round_trip(tmp_path):
    encoder, decoder = _encoder(), _decoder()
    encoded, mask = _source()
    x, target = torch.randn(2, 9, D), torch.randn(3, 6, 6)
    save_model(encoder, str(tmp_path / "encoder.safetensors"))
    save_model(decoder, str(tmp_path / "decoder.safetensors"))
    encoder2, decoder2 = _lively(TCNEncoder(D, H, 3, 3, 0.0, True), 1), _lively(TCNDecoder(6, H, 3, M), 1)
    assert not torch.allclose(encoder2(x, _ones(x)).hidden, encoder(x, _ones(x)).hidden)
    load_model(encoder2, str(tmp_path / "encoder.safetensors"))
    load_model(decoder2, str(tmp_path / "decoder.safetensors"))
    assert torch.equal(encoder2(x, _ones(x)).hidden, encoder(x, _ones(x)).hidden)
    assert torch.equal(
        decoder2(target, decoder2.start(encoded, mask))[0], decoder(target, decoder.start(encoded, mask))[0]
    )


@pytest.mark.parametrize("causal", [True, False])
def test_bf16_autocast_gives_finite_outputs_and_gradients(causal):
    torch.manual_seed(0)
    encoder = TCNEncoder(D, H, 3, causal=causal)
    decoder = TCNDecoder(6, H, 2, H, dropout=0.1)
    x, target = torch.randn(2, 10, D), torch.randn(2, 4, 6)
    mask = torch.tensor([[True] * 10, [True] * 6 + [False] * 4])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        encoded = encoder(x, mask)
        hidden, state = decoder(target, decoder.start(encoded, mask))
        step, _ = decoder(target[:, :1], state)  # a cached step after a bf16 pass
        loss = hidden.float().pow(2).mean() + encoded.pooled.float().pow(2).mean()
    assert hidden.dtype == torch.bfloat16 and torch.isfinite(hidden).all() and torch.isfinite(step).all()
    loss.backward()
    for module in (encoder, decoder):
        assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in module.parameters())
    encoder.eval()
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        low = encoder(x, mask).hidden.float()
    torch.testing.assert_close(low, encoder(x, mask).hidden, atol=0.05, rtol=0.05)


def test_builders_read_the_model_settings():
    m = SimpleNamespace(
        hidden_size=H,
        num_layers=2,
        dropout=0.0,
        attention="bahdanau",
        embed_dim=6,
        kernel_size=TCNSettings().kernel_size,
    )
    encoder = build_encoder(m, input_dim=D, max_len=64, causal=False)
    assert (encoder.out_dim, encoder.causal, encoder.recurrent) == (H, False, False)
    assert encoder.max_context is None
    assert encoder.receptive_field == 1 + 2 * 2 * 3
    decoder = build_decoder(m, memory_dim=M, max_len=64)
    assert decoder.out_dim == H and decoder.tcn.causal
    y, _ = decoder(torch.randn(3, 4, 6), decoder.start(*_source()))
    assert y.shape == (3, 4, H)
