"""Connectionist temporal classification: a distribution over characters and a blank at every frame,
trained by summing over every alignment of the transcript (Graves et al., 2006)."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from seqlab.data.batch import Batch
from seqlab.encoders import EncoderOutput
from seqlab.heads import HeadOutput

BLANK = 0


class CTCHead(nn.Module):
    def __init__(self, in_dim: int, num_symbols: int, dropout: float = 0.0):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(in_dim, num_symbols)  # the blank, then the alphabet

    def forward(self, encoded: EncoderOutput, batch: Batch) -> HeadOutput:
        log_probs = self.out(self.dropout(encoded.hidden)).float().log_softmax(dim=-1)  # (B, T, V)
        if batch.targets is None:
            return HeadOutput(log_probs)
        target_lengths = (batch.targets != BLANK).sum(dim=1)  # (B,)
        loss = F.ctc_loss(
            log_probs.transpose(0, 1),
            batch.targets,
            batch.lengths,
            target_lengths,
            blank=BLANK,
            reduction="sum",
            zero_infinity=True,
        )
        return HeadOutput(log_probs, loss, target_lengths.sum())  # the loss per transcript character


def greedy_paths(log_probs: torch.Tensor, lengths: torch.Tensor) -> list[list[int]]:
    """The best symbol of every frame, repeats merged and blanks dropped: symbol ids per utterance."""
    best = log_probs.argmax(dim=-1)  # (B, T)
    paths = []
    for row, length in zip(best.tolist(), lengths.tolist()):
        path, previous = [], BLANK
        for symbol in row[:length]:
            if symbol != previous and symbol != BLANK:
                path.append(symbol)
            previous = symbol
        paths.append(path)
    return paths


def beam_paths(log_probs: torch.Tensor, lengths: torch.Tensor, beam: int) -> list[list[int]]:
    """CTC prefix beam search (Hannun et al., 2014) without a language model: the `beam` most probable
    transcripts are kept at every frame, each scored over all of its alignments. Symbol ids per utterance."""
    paths = []
    for frames, length in zip(log_probs.float().cpu(), lengths.tolist()):
        # prefix -> (log P(prefix, ending in blank), log P(prefix, ending in its last symbol))
        beams: dict[tuple[int, ...], tuple[float, float]] = {(): (0.0, float("-inf"))}
        for frame in frames[:length]:
            candidates = frame.topk(min(beam, len(frame))).indices.tolist()
            scores = frame.tolist()
            grown: dict[tuple[int, ...], list[float]] = {}
            for prefix, (blank_end, symbol_end) in beams.items():
                total = _logsumexp(blank_end, symbol_end)
                for symbol in candidates:
                    p = scores[symbol]
                    if symbol == BLANK:
                        _add(grown, prefix, 0, total + p)
                    elif prefix and prefix[-1] == symbol:
                        _add(grown, prefix + (symbol,), 1, blank_end + p)  # a blank separates the repeat
                        _add(grown, prefix, 1, symbol_end + p)  # the same symbol, held
                    else:
                        _add(grown, prefix + (symbol,), 1, total + p)
            best = sorted(grown.items(), key=lambda item: -_logsumexp(*item[1]))[:beam]
            beams = {prefix: (b, s) for prefix, (b, s) in best}
        paths.append(list(max(beams.items(), key=lambda item: _logsumexp(*item[1]))[0]))
    return paths


def _add(beams: dict, prefix: tuple[int, ...], ending: int, log_p: float) -> None:
    entry = beams.setdefault(prefix, [float("-inf"), float("-inf")])
    entry[ending] = _logsumexp(entry[ending], log_p)


def _logsumexp(a: float, b: float) -> float:
    if a == float("-inf"):
        return b
    if b == float("-inf"):
        return a
    high = max(a, b)
    return high + math.log1p(math.exp(-abs(a - b)))
