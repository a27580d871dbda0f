"""`SequenceModel` = input adapter → encoder → task head, the one builder that turns a config into it,
and `Ensemble`, several trained models that predict as one.

The builder asks the registries: the task builds its adapter and head, the encoder family its body.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from torch import nn

from seqlab.config import RunConfig
from seqlab.data.batch import Batch
from seqlab.encoders import EncoderOutput
from seqlab.heads import HeadOutput
from seqlab.registry import ENCODERS
from seqlab.tasks import task_type
from seqlab.tasks.base import HeadParts
from seqlab.training.hardware import device_of


class SequenceModel(nn.Module):
    def __init__(self, adapter: nn.Module, encoder: nn.Module, head: nn.Module):
        super().__init__()
        self.adapter = adapter
        self.encoder = encoder
        self.head = head

    def forward(self, batch: Batch, state=None) -> HeadOutput:
        batch = batch.to(device_of(self))  # the loaders build batches on the CPU
        return self.head(self.encode(batch, state), batch)

    def encode(self, batch: Batch, state=None) -> EncoderOutput:
        batch = batch.to(device_of(self))
        x = self.adapter(batch)  # (B, T, D)
        return self.encoder(x, batch.mask, state)


class Ensemble(nn.Module):
    """Models of one task on the same data, seen as one: their predictive distributions averaged
    (a mixture of their label, token or pitch probabilities; the mean of their forecasts)."""

    def __init__(self, members: Sequence[nn.Module]):
        super().__init__()
        self.members = nn.ModuleList(members)

    @property
    def head(self) -> Any:  # the members' head type, which offers `mixture` and `score`
        return self.members[0].head

    def forward(self, batch: Batch, state=None) -> HeadOutput:
        batch = batch.to(device_of(self))
        unlabelled = replace(batch, targets=None)
        logits = self.head.mixture([member(unlabelled).logits for member in self.members])
        return HeadOutput(logits) if batch.targets is None else self.head.score(logits, batch)


def build_model(config: RunConfig, **sizes: int) -> SequenceModel:
    """The model a run config describes: the task's adapter and head around the encoder it names.
    Sizes that come from the data (vocab_size, num_labels, num_features …) are passed alongside."""
    task = task_type(config)
    encoder = ENCODERS[config.model.encoder]
    adapter = task.build_adapter(config, sizes, encoder)
    input_dim: int = adapter.out_dim  # type: ignore[assignment]  # every adapter and encoder sets out_dim
    body = encoder.build(config.model, input_dim, task.context_length(config, adapter), task.causal)
    width: int = body.out_dim  # type: ignore[assignment]
    head = task.build_head(config, HeadParts(sizes, adapter, encoder, width))
    return SequenceModel(adapter, body, head)
