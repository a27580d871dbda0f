"""The `Batch` every model consumes, and the padding that builds it from encoded examples."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import torch

PAD_ID = 0
IGNORE_INDEX = -100  # a target position that no loss and no metric counts


@dataclass
class Batch:
    inputs: torch.Tensor  # (B, T) token ids or (B, T, F) float features
    mask: torch.Tensor  # (B, T) bool, True at real positions
    targets: torch.Tensor | None = (
        None  # classify (B,) or (B, L); tag and lm (B, T), -100 ignored; forecast (B, h); tts (B, T, D)
    )
    # seq2seq (B, U): the target tokens then [EOS], -100 ignored
    target_inputs: torch.Tensor | None = (
        None  # seq2seq (B, U): [BOS] then the target tokens, the decoder's input
    )
    chars: torch.Tensor | None = None  # (B, T, C) character ids of every word
    spans: torch.Tensor | None = None  # relation (B, 2, 2): each entity's [first, end) positions
    copy_ids: torch.Tensor | None = None  # seq2seq with model.copy (B, S): each source token's id in the
    # target vocabulary, PAD where it has none
    target_mask: torch.Tensor | None = None  # tts (B, T): the real frames among the padded target frames
    speakers: torch.Tensor | None = None  # tts (B,): each example's speaker id
    future: torch.Tensor | None = None  # forecast (B, h, K): covariates known over the horizon
    loc: torch.Tensor | None = None  # forecast (B, 1): each window's own level, which the head adds back
    scale: torch.Tensor | None = (
        None  # forecast (B, 1): each window's own spread, which the head multiplies back
    )

    @property
    def lengths(self) -> torch.Tensor:  # (B,)
        return self.mask.sum(dim=1)

    def to(self, device: torch.device | str) -> Batch:
        """The batch on `device`: itself where it is there already, as after the first move."""
        tensors = {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}
        if all(t.device == torch.device(device) for t in tensors.values()):
            return self
        return replace(self, **{k: v.to(device) for k, v in tensors.items()})

    def __len__(self) -> int:
        return self.inputs.shape[0]


def pad(sequences: list[list[int]], value: int = PAD_ID) -> torch.Tensor:
    """Right-pad integer sequences into one (B, T) tensor."""
    width = max((len(s) for s in sequences), default=0)
    out = torch.full((len(sequences), max(width, 1)), value, dtype=torch.long)
    for row, seq in enumerate(sequences):
        out[row, : len(seq)] = torch.as_tensor(seq, dtype=torch.long)
    return out


def pad_chars(words: list[list[list[int]]]) -> torch.Tensor:
    """Pad character ids per word per sentence into one (B, T, C) tensor."""
    width = max((len(w) for sentence in words for w in sentence), default=1)
    length = max((len(sentence) for sentence in words), default=1)
    out = torch.full((len(words), length, width), PAD_ID, dtype=torch.long)
    for row, sentence in enumerate(words):
        for col, word in enumerate(sentence):
            out[row, col, : len(word)] = torch.as_tensor(word, dtype=torch.long)
    return out


def length_buckets(
    lengths: list[int], batch_size: int, generator: torch.Generator | None, window: int = 50
) -> list[list[int]]:
    """Index batches of similar length, so recurrent encoders do little work on padding.

    Examples are shuffled (when `generator` is given), sorted by length inside windows of
    `window` batches, cut into batches, and the batches shuffled again.
    """
    order = (
        torch.randperm(len(lengths), generator=generator)
        if generator is not None
        else torch.arange(len(lengths))
    ).tolist()
    span = batch_size * window
    batches = []
    for start in range(0, len(order), span):
        chunk = sorted(order[start : start + span], key=lambda i: lengths[i])
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    if generator is not None:
        batches = [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]
    return batches
