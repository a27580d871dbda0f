"""The contract every (task × encoder) pair keeps: shapes, masking, fit → save → load → the same
predictions, and determinism. One table drives them all."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from conftest import ENCODERS, tiny
from seqlab.data.batch import Batch
from seqlab.model import build_model
from seqlab.pipeline import fit, load
from seqlab.tasks import TASKS
from seqlab.training.run_dir import REQUIRED

CASES = [(task, encoder, {}) for task in ("classify", "tag", "lm", "seq2seq") for encoder in ENCODERS] + [
    ("seq2seq", "gru", {"model.attention": "luong", "data.shared_vocab": False, "model.tie_weights": False}),
    ("seq2seq", "transformer", {"model.positions": "sinusoidal"}),
    ("classify", "gru", {"model.bidirectional": False, "model.pooling": "mean"}),
    ("classify", "transformer", {"model.positions": "sinusoidal", "model.pooling": "max"}),
    ("classify", "lstm", {"data.tokenizer": "bpe", "data.vocab_size": 300, "model.pooling": "attention"}),
    ("classify", "rnn", {"data.tokenizer": "char"}),
    ("tag", "lstm", {"model.crf": True, "model.char_dim": 8, "model.char_filters": 8}),
    ("tag", "transformer", {"model.crf": True}),
    ("lm", "transformer", {"model.positions": "sinusoidal"}),
    ("lm", "gru", {"data.tokenizer": "bpe", "data.vocab_size": 300}),
]
METRICS = {"classify": {"accuracy", "f1_macro", "loss"}, "tag": {"f1", "accuracy", "loss"},
           "lm": {"loss", "perplexity"}, "seq2seq": {"loss", "perplexity", "bleu", "chrf", "rouge2"}}


def _id(case):
    task, encoder, extra = case
    return "-".join([task, encoder, *(f"{k.split('.')[1]}={v}" for k, v in extra.items())])


@pytest.fixture(params=CASES, ids=[_id(c) for c in CASES])
def case(request):
    return request.param


def _fitted_task(task_name, config, splits):
    task = TASKS[task_name](config)
    task.fit(splits[task_name]["train"])
    return task


def test_padding_never_changes_a_result(case, splits):
    task_name, encoder, extra = case
    config = tiny(task_name, encoder, **extra)
    task = _fitted_task(task_name, config, splits)
    torch.manual_seed(0)
    model = build_model(config, **task.model_sizes()).eval()
    if task_name == "lm":
        stream = torch.from_numpy(task.encode(splits["lm"]["val"]).astype(np.int64))
        short, long = stream[:7], stream[7:20]
        batch = Batch(inputs=torch.stack([torch.cat([short, torch.zeros(6, dtype=torch.long)]), long]),
                      mask=torch.tensor([[True] * 7 + [False] * 6, [True] * 13]))
        alone = Batch(inputs=short[None], mask=torch.ones(1, 7, dtype=torch.bool))
        expected_shape = (2, 13, task.tokenizer.vocab_size)
    else:
        records = splits[task_name]["val"]
        examples = task.encode(records, with_targets=task_name == "seq2seq")  # seq2seq: the decoder's input too
        order = sorted(range(len(examples)), key=lambda i: len(examples[i]["ids"]))
        shortest, longest = examples[order[0]], examples[order[-1]]
        assert len(shortest["ids"]) < len(longest["ids"])
        batch = task.collate([shortest, longest])
        alone = task.collate([shortest])
        T = len(longest["ids"])
        expected_shape = {"classify": lambda: (2, len(task.labels)), "tag": lambda: (2, T, len(task.labels)),
                          "seq2seq": lambda: (2, batch.targets.shape[1], task.target_tokenizer.vocab_size)}[task_name]()
    with torch.no_grad():
        together = model(batch).logits
        single = model(alone).logits
    assert tuple(together.shape) == expected_shape
    if task_name == "classify":
        torch.testing.assert_close(together[0], single[0], atol=1e-5, rtol=1e-4)
    else:
        n = single.shape[1]
        torch.testing.assert_close(together[0, :n], single[0], atol=1e-5, rtol=1e-4)


def test_fit_save_load_gives_the_same_predictions(case, splits, tmp_path):
    task_name, encoder, extra = case
    config = tiny(task_name, encoder, **extra)
    pipeline = fit(config, tmp_path / "run", splits[task_name])
    run = tmp_path / "run"
    for name in REQUIRED + TASKS[task_name].files + ("metrics.json", "history.csv", "report.html", "plots/learning_curves.png"):
        assert (run / name).exists(), name
    metrics = json.loads((run / "metrics.json").read_text())
    assert METRICS[task_name] <= set(metrics)
    assert all(v == v for k, v in metrics.items() if k != "split")  # no NaN
    loaded = load(run)
    if task_name == "lm":
        from seqlab.generation import GenerationConfig

        settings = GenerationConfig(max_new_tokens=12, temperature=0)
        assert loaded.generate("ROMEO", settings) == pipeline.generate("ROMEO", settings)
    else:
        records = [{k: v for k, v in r.items() if k in ("text", "tokens", "source")} for r in splits[task_name]["test"]]
        assert loaded.predict(records) == pipeline.predict(records)
        assert loaded.evaluate(splits[task_name]["test"]) == pytest.approx(
            pipeline.evaluate(splits[task_name]["test"]))


@pytest.mark.parametrize("task_name,encoder", [("classify", e) for e in ENCODERS] + [("lm", "transformer"),
                                                                                     ("tag", "gru")])
def test_same_seed_same_weights(task_name, encoder, splits, tmp_path):
    from safetensors.torch import load_file

    weights = []
    for name in ("a", "b"):
        config = tiny(task_name, encoder, **{"train.deterministic": True, "train.seed": 3})
        fit(config, tmp_path / name, splits[task_name])
        weights.append(load_file(str(tmp_path / name / "model.safetensors")))
    assert weights[0].keys() == weights[1].keys()
    for key in weights[0]:
        assert torch.equal(weights[0][key], weights[1][key]), key


def test_multi_label_classification(splits, tmp_path):
    """Several labels per text: a sigmoid per label, exact-set accuracy and micro/macro F1."""
    def relabel(records):
        return [{"text": r["text"], "label": [r["label"]] + (["number"] if any(c.isdigit() for c in r["text"]) else [])}
                for r in records]

    data = {split: relabel(records) for split, records in splits["classify"].items()}
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
def test_bf16_training_runs_on_any_cpu(encoder, splits, tmp_path):
    """`train.precision=bf16` trains every encoder, on CPUs with native bf16 and on those without."""
    fit(tiny("lm", encoder, **{"train.precision": "bf16"}), tmp_path / "run", splits["lm"])
    meta = json.loads((tmp_path / "run" / "meta.json").read_text())
    assert meta["bf16"] is True
    assert torch.isfinite(torch.tensor(json.loads((tmp_path / "run" / "metrics.json").read_text())["loss"]))
