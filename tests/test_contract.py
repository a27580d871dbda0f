"""The contract every task family keeps with every encoder: padding changes no result, fit → save → load
gives the same predictions and evaluation, and the same seed gives the same weights. One table of task
families, each a tiny real slice with tiny settings, drives the tests; the registry names the encoders."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pytest
import torch
from conftest import ANOMALY, ENCODERS, FORECAST, PQ_KB, RATE, tiny

from seqlab.data.batch import Batch
from seqlab.generation import GenerationConfig
from seqlab.model import build_model
from seqlab.pipeline import Pipeline, fit, load
from seqlab.registry import ENCODERS as ENCODER_SPECS
from seqlab.tasks import Task, task_type
from seqlab.training.run_dir import REQUIRED

# -- how a family shows padding, and how it uses a trained pipeline ----------------------------------


def one_example(inputs: torch.Tensor) -> Batch:
    """A batch of the one unpadded example `inputs` (T,)."""
    return Batch(inputs=inputs[None], mask=torch.ones(1, len(inputs), dtype=torch.bool))


def shortest_beside_longest(task: Task, records: list) -> tuple[Batch, Batch, Batch]:
    """The validation examples of fewest and most positions batched together, and each alone."""
    examples = sorted(task.encode(records), key=task.length)  # targets too: a decoder reads them
    shortest, longest = examples[0], examples[-1]
    if task.length(shortest) == task.length(longest):
        pytest.skip("every validation example has one length: nothing is padded")
    return task.collate([shortest, longest]), task.collate([shortest]), task.collate([longest])


def stream_beside_stream(task: Task, records: list) -> tuple[Batch, Batch, Batch]:
    """A language model reads one token stream: 7 of its tokens padded beside the next 13, and each alone."""
    stream = torch.from_numpy(task.encode(records).astype(np.int64))
    short, long = stream[:7], stream[7:20]
    both = Batch(
        inputs=torch.stack([torch.cat([short, torch.zeros(6, dtype=torch.long)]), long]),
        mask=torch.tensor([[True] * 7 + [False] * 6, [True] * 13]),
    )
    return both, one_example(short), one_example(long)


def predict_unlabelled(pipeline: Pipeline, records: list) -> list:
    """The predictions for the records stripped of what is to be predicted."""
    inputs = ("text", "tokens", "e1", "e2", "question", "source", "values", "image")
    return pipeline.predict([{k: v for k, v in r.items() if k in inputs} for r in records])


def generate_greedily(pipeline: Pipeline, records: list) -> str:
    """A dozen tokens after a prompt, each the likeliest (the held-out records are one stream of text)."""
    return pipeline.generate("ROMEO", GenerationConfig(max_new_tokens=12, temperature=0))


# -- the table ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Family:
    """One row: a task on one kind of real data, and how the contract reaches it."""

    name: str  # the tests' id
    task: str  # the config's `task`
    splits: str  # the conftest fixture that gives its train / val (/ test) records
    metrics: set[str]  # names its metrics.json holds
    use: Callable[[Pipeline, list], object]  # what a trained pipeline makes of the held-out records
    settings: dict = field(default_factory=dict)  # beside conftest.tiny's
    padding: Callable[[Task, list], tuple[Batch, Batch, Batch]] | None = shortest_beside_longest  # the
    # batches that show padding changes nothing; None: every example has one length, nothing is padded
    needs_decoder: bool = False  # the encoder family must bring a decoder


FAMILIES = [
    Family("classify", "classify", "spam_splits", {"accuracy", "f1_macro", "loss"}, predict_unlabelled),
    Family("tag", "tag", "conll_splits", {"f1", "accuracy", "loss"}, predict_unlabelled),
    Family(
        "link",
        "link",
        "wn18rr_splits",
        {"mrr", "hits@1", "hits@3", "hits@10", "unseen", "loss"},
        lambda pipeline, triples: pipeline.predict(
            [{"head": t["head"], "relation": t["relation"]} for t in triples]
        ),
        padding=None,
    ),  # every query is two tokens
    Family(
        "kgqa",
        "kgqa",
        "pathquestion_splits",
        {"accuracy", "path_accuracy", "loss"},
        predict_unlabelled,
        {"data.kb": PQ_KB},
    ),
    Family(
        "relation",
        "relation",
        "semeval_splits",
        {"f1_macro", "f1_micro", "accuracy", "loss"},
        predict_unlabelled,
    ),
    Family(
        "lm",
        "lm",
        "shakespeare_splits",
        {"loss", "perplexity"},
        generate_greedily,
        padding=stream_beside_stream,
    ),
    Family(
        "seq2seq",
        "seq2seq",
        "multi30k_splits",
        {"loss", "perplexity", "bleu", "chrf", "rouge2"},
        predict_unlabelled,
        needs_decoder=True,
    ),
    Family(
        "extract",
        "extract",
        "bbc",
        {"rouge1", "rouge2", "rougeL", "lead_rouge2", "f1"},
        predict_unlabelled,
        {"data.sentence_length": 30},
    ),
    Family(
        "forecast",
        "forecast",
        "ett_splits",
        {"mse", "mae", "smape", "mse_scaled", "quantile_loss", "coverage_80", "loss"},
        lambda pipeline, series: pipeline.forecast(series),
        {**FORECAST, "model.quantiles": [0.1, 0.5, 0.9]},
        padding=None,
    ),  # windows of data.lookback points
    Family(
        "anomaly",
        "anomaly",
        "ecg",
        {"roc_auc", "precision", "recall", "f1", "loss"},
        lambda pipeline, series: pipeline.predict(series),
        ANOMALY,
        padding=None,
    ),  # windows of data.lookback points
    Family(
        "series-classify",
        "classify",
        "vowels",
        {"accuracy", "f1_macro", "loss"},
        predict_unlabelled,
        {"data.input": "series"},
    ),
    Family(
        "image-classify",
        "classify",
        "digits",
        {"accuracy", "f1_macro", "loss"},
        predict_unlabelled,
        {"data.input": "image", "data.patch_size": 2},
        padding=None,
    ),  # every image is 4×4 patches
    Family(
        "image-lm",
        "lm",
        "digits",
        {"bits_per_pixel", "nll", "loss"},
        lambda pipeline, records: pipeline.draw("3", 2, seed=0).tolist(),
        {"data.input": "image", "data.levels": 17},
        padding=None,
    ),  # every image is 64 pixels
    Family(
        "caption",
        "seq2seq",
        "flickr",
        {"loss", "bleu1", "bleu4"},
        predict_unlabelled,
        {"data.input": "image", "data.image_size": 16, "data.channels": 3, "data.patch_size": 4},
        needs_decoder=True,
    ),
    Family(
        "ctc",
        "ctc",
        "strings",
        {"wer", "cer", "loss"},
        lambda pipeline, utterances: pipeline.transcribe(utterances),
        {"data.sample_rate": RATE, "data.stack_frames": 3, "data.max_length": 200},
    ),
    Family(
        "music",
        "lm",
        "chorales",
        {"nll", "loss"},
        lambda pipeline, pieces: pipeline.evaluate(pieces)["nll"],
        {"data.input": "music", "model.bidirectional": False},
    ),
    Family(
        "dna-classify",
        "classify",
        "splice_splits",
        {"accuracy", "f1_macro", "loss"},
        predict_unlabelled,
        {"data.input": "dna", "data.tokenizer": "kmer", "data.kmer": 2},
        padding=None,
    ),  # every splice-junction sequence is 60 bases
    Family(
        "dna-tag",
        "tag",
        "genome_splits",
        {"f1", "accuracy", "loss"},
        predict_unlabelled,
        {"data.input": "dna", "data.max_length": 64},
    ),
    Family(
        "trajectory",
        "trajectory",
        "walkers",
        {"ade", "fde", "ade@20", "fde@20", "loss"},
        lambda pipeline, scenes: [walker["path"].tolist() for walker in pipeline.predict(scenes)],
        {"data.social_grid": 2},
        padding=None,
    ),  # every walker is observed for 8 steps
    Family(
        "tts",
        "tts",
        "voices",
        {"loss", "mel_error"},
        lambda pipeline, records: [w.round(5).tolist() for w in pipeline.speak(["two"], "jackson")],
        {"data.sample_rate": RATE, "data.stack_frames": 2},
        padding=None,
    ),  # the decoder reads the frames it is taught with; the characters' padding is the encoder's own test
    Family(
        "protein-tag",
        "tag",
        "chains",
        {"accuracy", "f1", "f1_H", "f1_E", "f1_C", "loss"},
        predict_unlabelled,
        {"data.input": "protein"},
    ),
    Family(
        "protein-lm",
        "lm",
        "chain_text",
        {"loss", "perplexity"},
        lambda pipeline, text: pipeline.generate("MKV", GenerationConfig(max_new_tokens=12, temperature=0)),
        {"data.input": "protein", "data.block_size": 32},
        padding=stream_beside_stream,
    ),
]
FAMILY = {family.name: family for family in FAMILIES}

# Settings beyond a family's own, each with the encoder it concerns.
EXTRA = [
    (
        FAMILY["seq2seq"],
        "gru",
        {"model.attention": "luong", "data.shared_vocab": False, "model.tie_weights": False},
    ),
    (FAMILY["seq2seq"], "transformer", {"model.positions": "sinusoidal"}),
    (FAMILY["classify"], "gru", {"model.bidirectional": False, "model.pooling": "mean"}),
    (FAMILY["classify"], "transformer", {"model.positions": "sinusoidal", "model.pooling": "max"}),
    (
        FAMILY["classify"],
        "lstm",
        {"data.tokenizer": "bpe", "data.vocab_size": 300, "model.pooling": "attention"},
    ),
    (FAMILY["classify"], "rnn", {"data.tokenizer": "char"}),
    (FAMILY["tag"], "lstm", {"model.crf": True, "model.char_dim": 8, "model.char_filters": 8}),
    (FAMILY["tag"], "transformer", {"model.crf": True}),
    (FAMILY["lm"], "transformer", {"model.positions": "sinusoidal"}),
    (FAMILY["lm"], "gru", {"data.tokenizer": "bpe", "data.vocab_size": 300}),
]


def case(family: Family, encoder: str, extra: dict | None = None):
    """A (family, encoder, extra settings) test case with a readable id, skipped where the encoder
    family lacks what the task needs."""
    extra = extra or {}
    label = "-".join([family.name, encoder, *(f"{k.split('.')[1]}={v}" for k, v in extra.items())])
    lacks_decoder = family.needs_decoder and ENCODER_SPECS[encoder].build_decoder is None
    marks = pytest.mark.skip(reason=f"encoder {encoder} has no decoder") if lacks_decoder else ()
    return pytest.param(family, encoder, extra, id=label, marks=marks)


CASES = [case(family, encoder) for family in FAMILIES for encoder in ENCODERS] + [case(*row) for row in EXTRA]
PADDED = [c for c in CASES if c.values[0].padding is not None]
# Determinism: one family with every encoder, every other family with one (a different one each).
SEEDED = [case(FAMILY["classify"], encoder) for encoder in ENCODERS] + [
    case(family, ENCODERS[n % len(ENCODERS)])
    for n, family in enumerate(FAMILIES)
    if family.name != "classify"
]


def config_of(family: Family, encoder: str, extra: dict, **settings):
    return tiny(family.task, encoder, **{**family.settings, **extra, **settings})


# -- the tests the table drives ----------------------------------------------------------------------


@pytest.mark.parametrize("family,encoder,extra", PADDED)
def test_padding_never_changes_a_result(family, encoder, extra, request):
    data = request.getfixturevalue(family.splits)
    config = config_of(family, encoder, extra)
    task = task_type(config)(config)
    task.fit(data["train"])
    torch.manual_seed(0)
    model = build_model(config, **task.model_sizes()).eval()
    both, shortest, longest = family.padding(task, data["val"])
    with torch.no_grad():
        together = model(both).logits  # (2, L) or (2, T, …)
        alone = [model(batch).logits[0] for batch in (shortest, longest)]  # (L,) or (T_i, …)
    if together.dim() == 2:  # one output per example: the whole row
        assert together.shape == (2, *alone[0].shape)
        for row, single in zip(together, alone):
            torch.testing.assert_close(row, single, atol=1e-5, rtol=1e-4)
    else:  # one output per position: the example's own positions; the batch is as wide as its widest
        assert together.shape == (2, max(len(single) for single in alone), *alone[0].shape[1:])
        for row, single in zip(together, alone):
            torch.testing.assert_close(row[: len(single)], single, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("family,encoder,extra", CASES)
def test_fit_save_load_gives_the_same_predictions(family, encoder, extra, request, tmp_path):
    data = request.getfixturevalue(family.splits)
    run = tmp_path / "run"
    pipeline = fit(config_of(family, encoder, extra), run, data)
    files = ("metrics.json", "history.csv", "report.html", "plots/learning_curves.png")
    for name in (*REQUIRED, *task_type(pipeline.config).files, *files):
        assert (run / name).exists(), name
    held_out = "test" if "test" in data else "val"
    metrics = json.loads((run / "metrics.json").read_text())
    assert family.metrics <= set(metrics) and metrics.pop("split") == held_out
    assert all(math.isfinite(value) for value in metrics.values()), metrics
    loaded = load(run)
    assert family.use(loaded, data[held_out]) == family.use(pipeline, data[held_out])
    assert loaded.evaluate(data[held_out]) == pytest.approx(pipeline.evaluate(data[held_out]))


@pytest.mark.parametrize("family,encoder,extra", SEEDED)
def test_same_seed_same_weights(family, encoder, extra, request, tmp_path):
    from safetensors.torch import load_file

    data = request.getfixturevalue(family.splits)
    weights = []
    for name in ("a", "b"):
        config = config_of(family, encoder, extra, **{"train.deterministic": True, "train.seed": 3})
        fit(config, tmp_path / name, data)
        weights.append(load_file(str(tmp_path / name / "model.safetensors")))
    assert weights[0].keys() == weights[1].keys()
    for key in weights[0]:
        assert torch.equal(weights[0][key], weights[1][key]), key


# -- what the table does not reach ------------------------------------------------------------------


def test_multi_label_classification(spam_splits, tmp_path):
    """Several labels per text: a sigmoid per label, exact-set accuracy and micro/macro F1."""

    def relabel(records):
        """Spam or ham, and "number" beside it where the text holds a digit."""
        digits = [any(c.isdigit() for c in r["text"]) for r in records]
        return [
            {"text": r["text"], "label": [r["label"], "number"] if d else [r["label"]]}
            for r, d in zip(records, digits)
        ]

    data = {split: relabel(records) for split, records in spam_splits.items()}
    pipeline = fit(tiny("classify", "gru", **{"data.multi_label": True}), tmp_path / "run", data)
    assert pipeline.task.labels == ["ham", "number", "spam"]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert {"accuracy", "f1", "f1_macro"} <= set(metrics)
    predicted = load(tmp_path / "run").predict([{"text": "Call 0800 now"}])[0]
    assert set(predicted["labels"]) <= {"ham", "number", "spam"} and len(predicted["probabilities"]) == 3


@pytest.mark.parametrize("encoder", ENCODERS)
def test_float_features_feed_every_encoder(encoder):
    """The feature adapter: (B, T, F) floats in place of token ids, with padding masked."""
    torch.manual_seed(0)
    model = build_model(tiny("classify", encoder), num_labels=3, num_features=5).eval()
    x = torch.randn(2, 7, 5)
    mask = torch.tensor([[True] * 4 + [False] * 3, [True] * 7])
    with torch.no_grad():
        together = model(Batch(inputs=x, mask=mask)).logits
        alone = model(Batch(inputs=x[:1, :4], mask=mask[:1, :4])).logits
    assert together.shape == (2, 3)
    torch.testing.assert_close(together[0], alone[0], atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("encoder", ENCODERS)
def test_bf16_training_runs_on_any_cpu(encoder, shakespeare_splits, tmp_path):
    """`train.precision=bf16` trains every encoder, on CPUs with native bf16 and on those without."""
    fit(tiny("lm", encoder, **{"train.precision": "bf16"}), tmp_path / "run", shakespeare_splits)
    meta = json.loads((tmp_path / "run" / "meta.json").read_text())
    assert meta["bf16"] is True
    assert torch.isfinite(torch.tensor(json.loads((tmp_path / "run" / "metrics.json").read_text())["loss"]))
