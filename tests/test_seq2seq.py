"""Sequence to sequence: decoding (greedy, beam, sampling; cached or not), pair readers, length
limits, the CLI's translate/eval/chat, and the Seq2Seq estimator."""

from __future__ import annotations

import contextlib
import gzip
import json
import subprocess
import sys

import pytest
import torch
from conftest import ENCODERS, tiny

from seqlab.cli import main
from seqlab.data import pairs
from seqlab.errors import UserError
from seqlab.generation import GenerationConfig, decode
from seqlab.model import build_model
from seqlab.pipeline import fit, load
from seqlab.tasks import Seq2SeqTask

DECODERS = [(e, {}) for e in ENCODERS] + [
    ("gru", {"model.attention": "luong"}),
    ("lstm", {"model.attention": "luong"}),
]


def _model(encoder: str, extra: dict, splits):
    config = tiny("seq2seq", encoder, **extra)
    task = Seq2SeqTask(config)
    task.fit(splits["seq2seq"]["train"])
    torch.manual_seed(0)
    return task, build_model(config, **task.model_sizes()).eval()


@pytest.mark.parametrize(
    "encoder,extra", DECODERS, ids=[f"{e}-{x.get('model.attention', '')}" for e, x in DECODERS]
)
def test_decoding_agrees_with_itself(encoder, extra, splits):
    """Beam 1 is greedy; the carried state (RNN state, KV cache) changes no token; nor does batching."""
    task, model = _model(encoder, extra, splits)
    examples = task.encode(splits["seq2seq"]["val"][:6], with_targets=False)
    batch = task.collate(examples)
    same = contextlib.nullcontext

    def run(**options):
        return decode(
            model, batch, GenerationConfig(**{"max_new_tokens": 10, "temperature": 0.0, **options}), same, 96
        )

    greedy = run()
    assert all(len(ids) > 0 for ids in greedy)
    assert run(num_beams=1) == greedy
    assert run(use_cache=False) == greedy
    assert run(num_beams=3) == run(num_beams=3, use_cache=False)
    alone = [
        decode(model, task.collate([e]), GenerationConfig(max_new_tokens=10, temperature=0.0), same, 96)[0]
        for e in examples
    ]
    assert alone == greedy
    sampled = run(temperature=1.0, top_k=20, top_p=0.9, seed=1)
    assert sampled == run(temperature=1.0, top_k=20, top_p=0.9, seed=1)


def test_beam_search_finds_a_likelier_output_than_greedy(splits):
    """Beam search scores whole hypotheses: with no length penalty, its output is at least as likely."""
    task, model = _model("gru", {}, splits)
    examples = task.encode(splits["seq2seq"]["val"][:8], with_targets=False)
    settings = {"max_new_tokens": 6, "temperature": 0.0, "length_penalty": 0.0}
    greedy = decode(model, task.collate(examples), GenerationConfig(**settings), contextlib.nullcontext, 96)
    beam = decode(
        model, task.collate(examples), GenerationConfig(num_beams=4, **settings), contextlib.nullcontext, 96
    )

    def log_prob(example, ids):
        from seqlab.data.text import EOS

        complete = len(ids) < 6
        batch = task.collate([{**example, "target": ids}])
        with torch.no_grad():
            logits = model(batch).logits.float().log_softmax(-1)[0]  # (U, V)
        targets = ids + ([EOS] if complete else [])
        return sum(logits[t, token].item() for t, token in enumerate(targets))

    for example, g, b in zip(examples, greedy, beam):
        assert log_prob(example, b) >= log_prob(example, g) - 1e-4


def test_label_smoothing_only_in_training(splits):
    task, model = _model("transformer", {"model.label_smoothing": 0.3}, splits)
    batch = task.collate(task.encode(splits["seq2seq"]["val"][:4]))
    evaluated = model(batch).loss
    model.train()
    smoothed = model(batch).loss  # dropout is 0 in the tiny config: only the smoothing differs
    assert smoothed.item() != pytest.approx(evaluated.item())


def test_train_load_translate_and_attention_maps(splits, tmp_path):
    pipeline = fit(
        tiny("seq2seq", "gru", **{"train.max_steps": 30, "train.lr": 3e-3}),
        tmp_path / "run",
        splits["seq2seq"],
    )
    sources = [r["source"] for r in splits["seq2seq"]["test"][:5]]
    assert load(tmp_path / "run").translate(sources) == pipeline.translate(sources)
    maps = json.loads((tmp_path / "run" / "attention.json").read_text())
    assert len(maps) == 4 and len(maps[0]["weights"]) == len(maps[0]["output"])
    assert all(abs(sum(row) - 1) < 1e-2 for row in maps[0]["weights"])
    assert (tmp_path / "run" / "plots" / "attention.png").exists()
    beam = pipeline.translate(sources, GenerationConfig(temperature=0.0, num_beams=3))
    assert len(beam) == 5 and all(isinstance(t, str) for t in beam)


# -- readers ----------------------------------------------------------------------------------


def test_aligned_gzip_files_and_their_errors(tmp_path):
    for lang, lines in (("de", ["Ein Hund.", "Zwei Katzen."]), ("en", ["A dog.", "Two cats."])):
        (tmp_path / f"train.{lang}.gz").write_bytes(gzip.compress("\n".join(lines).encode()))
    records = pairs.read_aligned(*pairs.aligned_files(tmp_path / "train", "de", "en"))
    assert records == [
        {"source": "Ein Hund.", "target": "A dog."},
        {"source": "Zwei Katzen.", "target": "Two cats."},
    ]
    (tmp_path / "short.de").write_text("Ein Hund.\nZwei Katzen.\n")
    (tmp_path / "short.en").write_text("A dog.\n")
    with pytest.raises(UserError, match="2 lines but .* has 1"):
        pairs.read_aligned(tmp_path / "short.de", tmp_path / "short.en")
    (tmp_path / "empty.de").write_text("Ein Hund.\nZwei Katzen.\n")
    (tmp_path / "empty.en").write_text("A dog.\n \n")
    with pytest.raises(UserError, match="pair 2 has an empty target"):
        pairs.read_aligned(tmp_path / "empty.de", tmp_path / "empty.en")
    with pytest.raises(UserError, match="no .*train.fr"):
        pairs.aligned_files(tmp_path / "train", "de", "fr")


def test_pair_tables_and_document_folders(tmp_path):
    (tmp_path / "pairs.jsonl").write_text('{"article": "Long text here.", "summary": "Short."}\n')
    assert pairs.read_pair_table(tmp_path / "pairs.jsonl") == [
        {"source": "Long text here.", "target": "Short."}
    ]
    (tmp_path / "pairs.csv").write_text("question,notes\nHow are you?,fine\n")
    with pytest.raises(UserError, match="no target column"):
        pairs.read_pair_table(tmp_path / "pairs.csv")
    for folder, text in (("News Articles", "Title\n\nBody one. Body two."), ("Summaries", "Body one.")):
        (tmp_path / "bbc" / folder / "tech").mkdir(parents=True)
        (tmp_path / "bbc" / folder / "tech" / "001.txt").write_text(text)
    assert pairs.read_document_folders(tmp_path / "bbc")[0]["target"] == "Body one."
    (tmp_path / "bbc" / "News Articles" / "tech" / "002.txt").write_text("Another.")
    with pytest.raises(UserError, match="002.txt has no summary"):
        pairs.read_document_folders(tmp_path / "bbc")


def test_dialogues_become_context_and_reply_pairs():
    turns = [["Hi", "Hello!", "How are you?", "Fine."]]
    assert pairs.dialogue_pairs(turns, 2)[2] == {"source": "Hello!\nHow are you?", "target": "Fine."}
    assert len(pairs.dialogue_pairs(turns, 1)) == 3


def test_over_length_texts_are_cut_with_a_warning_or_refused(splits):
    records = [{"source": "ein " * 200, "target": "a dog"}]
    task = Seq2SeqTask(tiny("seq2seq", "gru", **{"data.max_length": 16}))
    task.fit(splits["seq2seq"]["train"])
    with pytest.warns(UserWarning, match="cut to data.max_length=16"):
        assert len(task.encode(records)[0]["ids"]) == 16
    task.config.data.truncate = False
    with pytest.raises(UserError, match="source 1 has .* tokens, over"):
        task.encode(records)


# -- CLI and estimator ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, pair_records):
    folder = tmp_path_factory.mktemp("seq2seq")
    (folder / "pairs.tsv").write_text(
        "source\ttarget\n" + "".join(f"{r['source']}\t{r['target']}\n" for r in pair_records),
        encoding="utf-8",
    )
    code = main(
        [
            "train",
            "--task",
            "seq2seq",
            "--data",
            str(folder / "pairs.tsv"),
            "--encoder",
            "transformer",
            "--out",
            str(folder / "run"),
            "--max-steps",
            "6",
            "model.hidden_size=16",
            "model.embed_dim=16",
            "model.num_layers=1",
            "model.num_heads=2",
            "data.vocab_size=300",
            "train.precision=fp32",
        ]
    )
    assert code == 0
    return folder


def test_cli_translates_evaluates_and_refuses_bad_options(run_dir, capsys):
    run = str(run_dir / "run")
    assert main(["predict", run, "--text", "Ein Hund rennt.", "--beam", "2", "--max-new-tokens", "8"]) == 0
    row = json.loads(capsys.readouterr().out.splitlines()[0])
    assert row["source"] == "Ein Hund rennt." and isinstance(row["output"], str)
    assert main(["eval", run, "--data", str(run_dir / "pairs.tsv"), "--max-new-tokens", "8"]) == 0
    assert {"bleu", "chrf", "rouge1", "perplexity"} <= set(json.loads(capsys.readouterr().out))
    assert main(["predict", run, "--text", "Hallo", "--beams", "2"]) == 2
    assert "unrecognized arguments: --beams" in capsys.readouterr().err
    assert main(["predict", run, "--text", "Hallo", "--beam", "0"]) == 2
    assert "--beam: must be at least 1" in capsys.readouterr().err
    (run_dir / "no-target.csv").write_text("source,notes\nHallo,x\n")
    assert main(["eval", run, "--data", str(run_dir / "no-target.csv")]) == 2
    assert "no target column" in capsys.readouterr().err


def test_chat_reads_turns_from_standard_input(run_dir):
    script = "Hallo\nWie geht es dir?\n/reset\nTschüss\n"
    result = subprocess.run(
        [sys.executable, "-m", "seqlab", "chat", str(run_dir / "run"), "--max-new-tokens", "6"],
        input=script,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 3  # a reply per turn; /reset answers nothing


def test_chat_refuses_a_model_of_another_task(tmp_path, spam_file, capsys):
    assert (
        main(
            [
                "train",
                "--task",
                "classify",
                "--data",
                str(spam_file),
                "--out",
                str(tmp_path / "run"),
                "--max-steps",
                "1",
                "model.hidden_size=8",
                "model.embed_dim=8",
            ]
        )
        == 0
    )
    assert main(["chat", str(tmp_path / "run")]) == 2
    assert "chat needs a model of task seq2seq" in capsys.readouterr().err


def test_estimator_fits_translates_and_reloads(pair_records, tmp_path):
    import seqlab

    X, y = [r["source"] for r in pair_records[:120]], [r["target"] for r in pair_records[:120]]
    model = seqlab.Seq2Seq(
        "lstm",
        max_minutes=0.05,
        epochs=1,
        hidden_size=16,
        embed_dim=16,
        num_layers=1,
        options={"data.vocab_size": 300, "train.precision": "fp32"},
    ).fit(X, y)
    outputs = model.predict(X[:3], max_new_tokens=5)
    assert len(outputs) == 3
    assert seqlab.Seq2Seq.load(model.save(tmp_path / "saved")).predict(X[:3], max_new_tokens=5) == outputs
    assert 0 <= model.score(X[:10], y[:10], max_new_tokens=5) <= 100
    with pytest.raises(UserError, match="unknown decoding option 'beam_size'"):
        model.predict(X[:1], beam_size=3)
