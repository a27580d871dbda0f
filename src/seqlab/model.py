"""`SequenceModel` = input adapter → encoder → task head, the one builder that turns a config into it,
and `Ensemble`, several trained models that predict as one.

This is the only file that knows both the encoders and the heads.
"""

from __future__ import annotations

from dataclasses import replace

from torch import nn

from seqlab.config import SERIES_TASKS, RunConfig, points_per_pass
from seqlab.data.batch import PAD_ID, Batch
from seqlab.decoders import RecurrentDecoder, TransformerDecoder
from seqlab.encoders import EncoderOutput
from seqlab.encoders.recurrent import RecurrentEncoder
from seqlab.encoders.transformer import TransformerEncoder
from seqlab.heads import HeadOutput
from seqlab.heads.classify import ClassifyHead
from seqlab.heads.ctc import CTCHead
from seqlab.heads.forecast import ForecastHead
from seqlab.heads.lm import LMHead
from seqlab.heads.pitches import NADEHead, PitchHead
from seqlab.heads.seq2seq import Seq2SeqHead
from seqlab.heads.tag import TagHead
from seqlab.modules.adapters import FeatureAdapter, PatchAdapter, SentenceAdapter, TokenAdapter
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

    def __init__(self, members: list[SequenceModel]):
        super().__init__()
        self.members = nn.ModuleList(members)

    @property
    def head(self) -> nn.Module:
        return self.members[0].head

    def forward(self, batch: Batch, state=None) -> HeadOutput:
        batch = batch.to(device_of(self))
        unlabelled = replace(batch, targets=None)
        logits = self.head.mixture([member(unlabelled).logits for member in self.members])
        return HeadOutput(logits) if batch.targets is None else self.head.score(logits, batch)


def build_model(config: RunConfig, vocab_size: int = 0, num_labels: int = 0, num_chars: int = 0,
                num_features: int = 0, num_future: int = 0, target_vocab_size: int = 0) -> SequenceModel:
    """The model a run config describes. Sizes that come from the data are passed alongside."""
    m, d, task = config.model, config.data, config.task
    if task in SERIES_TASKS:
        adapter = PatchAdapter(num_features, d.lookback, m.patch_len, m.patch_stride, m.embed_dim, m.dropout)
    elif num_features:
        adapter = FeatureAdapter(num_features, m.embed_dim, m.dropout)
    elif task == "extract":  # sentences are encoded, then the document: the same family at both levels
        words = _encoder(config, m.embed_dim, d.sentence_length, causal=False)
        adapter = SentenceAdapter(vocab_size, m.embed_dim, words, m.dropout)
    else:
        adapter = TokenAdapter(vocab_size, m.embed_dim, m.dropout, num_chars=num_chars,
                               char_dim=m.char_dim, char_filters=m.char_filters)
    max_len = d.block_size if task == "lm" and not num_features else getattr(adapter, "num_patches", d.max_length)
    encoder = _encoder(config, adapter.out_dim, max_len, causal=task == "lm")
    if task == "classify":
        head = ClassifyHead(encoder.out_dim, num_labels, config.data.multi_label, m.pooling, m.dropout)
    elif task in SERIES_TASKS:
        head = ForecastHead(encoder.out_dim, adapter.num_patches, points_per_pass(config), num_future, m.quantiles, m.loss,
                            m.dropout)
    elif task in ("tag", "extract"):
        head = TagHead(encoder.out_dim, num_labels, m.crf, m.dropout)
    elif task == "ctc":
        head = CTCHead(encoder.out_dim, num_labels, m.dropout)
    elif task == "lm" and num_features and m.nade_hidden:  # piano rolls: the next frame's pitches, jointly
        head = NADEHead(encoder.out_dim, num_labels, m.nade_hidden, m.dropout)
    elif task == "lm" and num_features:  # or each pitch on its own
        head = PitchHead(encoder.out_dim, num_labels, m.dropout)
    elif task == "seq2seq":
        head = _seq2seq_head(config, adapter, encoder.out_dim, target_vocab_size)
    else:
        if isinstance(adapter, TokenAdapter):
            _init_token_embedding(adapter.embed, m.encoder)
        tied = adapter.embed if m.tie_weights and isinstance(adapter, TokenAdapter) else None
        head = LMHead(encoder.out_dim, vocab_size, tied, m.dropout)
    return SequenceModel(adapter, encoder, head)


def _encoder(config: RunConfig, input_dim: int, max_len: int, causal: bool) -> nn.Module:
    m = config.model
    if m.encoder == "transformer":
        return TransformerEncoder(input_dim, m.hidden_size, m.num_layers, m.num_heads, m.ff_mult, m.dropout,
                                  max_len=max_len, positions=m.positions, causal=causal)
    return RecurrentEncoder(m.encoder, input_dim, m.hidden_size, m.num_layers, bool(m.bidirectional), m.dropout)


def _seq2seq_head(config: RunConfig, adapter: TokenAdapter, memory_dim: int, target_vocab_size: int) -> Seq2SeqHead:
    """A decoder of the encoder's family; with a shared vocabulary the source embedding serves the target."""
    m, d = config.model, config.data
    embed = adapter.embed if d.shared_vocab else nn.Embedding(target_vocab_size, m.embed_dim, padding_idx=PAD_ID)
    if m.encoder == "transformer":
        decoder = TransformerDecoder(m.embed_dim, m.hidden_size, m.num_layers, m.num_heads, m.ff_mult, m.dropout,
                                     max_len=d.max_length + 1, positions=m.positions)  # [BOS] + max_length
    else:
        decoder = RecurrentDecoder(m.encoder, m.embed_dim, m.hidden_size, m.num_layers, memory_dim, m.attention,
                                   m.dropout)
    _init_token_embedding(embed, m.encoder)
    return Seq2SeqHead(decoder, embed, m.tie_weights, m.label_smoothing, m.dropout)


def _init_token_embedding(embed: nn.Embedding, encoder: str) -> None:
    """The token embedding of a model that writes tokens (lm, seq2seq), which may also produce its
    logits: small in a transformer (std 0.02, as GPT-2's), whose layer norms rescale what it reads;
    PyTorch's N(0, 1) in a recurrent net, whose gates read it unnormalised. (Started at 0.02, a GRU
    translating Multi30k reached validation BLEU 1.9 after two epochs; at N(0, 1), 23 after one.)"""
    if encoder == "transformer":
        nn.init.normal_(embed.weight, std=0.02)
