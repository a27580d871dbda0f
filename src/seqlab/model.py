"""`SequenceModel` = input adapter → encoder → task head, and the one builder that turns a config into it.

This is the only file that knows both the encoders and the heads.
"""

from __future__ import annotations

from torch import nn

from seqlab.config import SERIES_TASKS, RunConfig, points_per_pass
from seqlab.data.batch import Batch
from seqlab.encoders.recurrent import RecurrentEncoder
from seqlab.encoders.transformer import TransformerEncoder
from seqlab.heads import HeadOutput
from seqlab.heads.classify import ClassifyHead
from seqlab.heads.forecast import ForecastHead
from seqlab.heads.lm import LMHead
from seqlab.heads.tag import TagHead
from seqlab.modules.adapters import FeatureAdapter, PatchAdapter, TokenAdapter


class SequenceModel(nn.Module):
    def __init__(self, adapter: nn.Module, encoder: nn.Module, head: nn.Module):
        super().__init__()
        self.adapter = adapter
        self.encoder = encoder
        self.head = head

    def forward(self, batch: Batch, state=None) -> HeadOutput:
        x = self.adapter(batch)  # (B, T, D)
        encoded = self.encoder(x, batch.mask, state)
        return self.head(encoded, batch)


def build_model(config: RunConfig, vocab_size: int = 0, num_labels: int = 0, num_chars: int = 0,
                num_features: int = 0, num_future: int = 0) -> SequenceModel:
    """The model a run config describes. Sizes that come from the data are passed alongside."""
    m, d, task = config.model, config.data, config.task
    if task in SERIES_TASKS:
        adapter = PatchAdapter(num_features, d.lookback, m.patch_len, m.patch_stride, m.embed_dim, m.dropout)
    elif num_features:
        adapter = FeatureAdapter(num_features, m.embed_dim, m.dropout)
    else:
        adapter = TokenAdapter(vocab_size, m.embed_dim, m.dropout, num_chars=num_chars,
                               char_dim=m.char_dim, char_filters=m.char_filters)
    if m.encoder == "transformer":
        encoder = TransformerEncoder(
            adapter.out_dim, m.hidden_size, m.num_layers, m.num_heads, m.ff_mult, m.dropout,
            max_len=d.block_size if task == "lm" else getattr(adapter, "num_patches", d.max_length),
            positions=m.positions, causal=task == "lm",
        )
    else:
        encoder = RecurrentEncoder(m.encoder, adapter.out_dim, m.hidden_size, m.num_layers,
                                   bool(m.bidirectional), m.dropout)
    if task == "classify":
        head = ClassifyHead(encoder.out_dim, num_labels, config.data.multi_label, m.pooling, m.dropout)
    elif task in SERIES_TASKS:
        head = ForecastHead(encoder.out_dim, adapter.num_patches, points_per_pass(config), num_future, m.quantiles, m.loss,
                            m.dropout)
    elif task == "tag":
        head = TagHead(encoder.out_dim, num_labels, m.crf, m.dropout)
    else:
        tied = adapter.embed if m.tie_weights and isinstance(adapter, TokenAdapter) else None
        if tied is not None:  # the shared matrix also produces logits: keep them small at the start
            nn.init.normal_(tied.weight, std=0.02)
        head = LMHead(encoder.out_dim, vocab_size, tied, m.dropout)
    return SequenceModel(adapter, encoder, head)
