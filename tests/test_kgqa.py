"""Path-query question answering: PathQuestion's layout, the KB walk and its path, and bad input."""

from __future__ import annotations

import json

import pytest
from conftest import PQ_KB, shared

from seqlab.cli import main
from seqlab.data.kb import KnowledgeBase, read_kb, read_questions

TINY = ["model.hidden_size=16", "model.embed_dim=12", "train.max_steps=3", "train.batch_size=8"]
KB = KnowledgeBase(
    [
        ("ada", "spouse", "bob"),
        ("bob", "nationality", "uk"),
        ("bob", "children", "cy"),
        ("bob", "children", "di"),
    ]
)


def test_pathquestion_lines_give_topic_relations_and_every_answer():
    first = read_questions(shared("pathquestion", "PQ-2H.txt"), labelled=True)[0]
    assert first["topic"] == "frederica_of_mecklenburg-strelitz"
    assert first["relations"] == ["spouse", "nationality"] and first["answers"] == ["united_kingdom"]
    assert read_kb(shared(*PQ_KB.split("/"))).walk(first["topic"], first["relations"]) == ["united_kingdom"]


def test_a_walk_follows_each_relation_from_every_entity_reached():
    assert KB.walk("ada", ["spouse", "children"]) == ["cy", "di"]
    assert KB.walk("ada", ["nationality"]) == [] and KB.relations_from(["bob"]) == {"nationality", "children"}
    assert KB.topic_of("who are ada 's children ?".split()) == "ada"


@pytest.fixture(scope="module")
def kgqa_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("kgqa")
    lines = shared("pathquestion", "PQ-2H.txt").read_text(encoding="utf-8").splitlines()[:120]
    data = folder / "questions.txt"
    data.write_text("\n".join(lines) + "\n")
    args = ["train", "--task", "kgqa", "--data", data, "--out", folder / "run", f"data.kb={PQ_KB}", *TINY]
    assert main([str(a) for a in args]) == 0
    return folder / "run"


def test_predict_prints_the_answer_and_the_path_hop_by_hop(capsys, kgqa_run):
    capsys.readouterr()
    question = "what is the nation of frederica_of_mecklenburg-strelitz 's couple ?"
    assert main(["predict", str(kgqa_run), "--text", question]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["topic"] == "frederica_of_mecklenburg-strelitz" and 1 <= len(row["path"]) <= 2
    kb = read_kb(kgqa_run / "kb.tsv")  # the run keeps its own copy of the KB
    assert row["answers"] == kb.walk(row["topic"], [hop["relation"] for hop in row["path"]])
    assert row["answer"] == (row["answers"][0] if row["answers"] else None)


def test_a_question_about_no_entity_of_the_kb_is_one_clear_line(capsys, kgqa_run):
    capsys.readouterr()
    assert main(["predict", str(kgqa_run), "--text", "who is nobody ?"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "names no entity of the knowledge base" in err


@pytest.mark.parametrize(
    "kb,setting,message",
    [
        ("ada\tspouse\n", "data.kb=KB", "kb.txt:1: a knowledge-base line holds three fields"),
        (None, "data.kb=KB", "no such file"),
        (None, "", "task kgqa needs a knowledge base: data.kb=FILE"),
    ],
)
def test_an_unusable_knowledge_base_is_one_clear_line(capsys, tmp_path, kb, setting, message):
    data = tmp_path / "questions.txt"
    data.write_text(
        "".join("who is ada 's spouse ?\tbob(bob/)\tada#spouse#bob#<end>#bob\n" for _ in range(20))
    )
    if kb is not None:
        (tmp_path / "kb.txt").write_text(kb)
    settings = [setting.replace("KB", str(tmp_path / "kb.txt"))] if setting else []
    args = ["train", "--task", "kgqa", "--data", str(data), "--out", str(tmp_path / "r"), *TINY, *settings]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and not (tmp_path / "r").exists()


def test_a_question_line_without_its_path_names_its_line(capsys, tmp_path):
    data = tmp_path / "questions.txt"
    data.write_text("who is ada 's spouse ?\tbob(bob/)\tada#spouse#bob\nwho is ada 's spouse ?\tbob\n")
    args = ["train", "--task", "kgqa", "--data", str(data), "--out", str(tmp_path / "r"), f"data.kb={PQ_KB}"]
    assert main(args) == 2
    assert "questions.txt:2: expected question<TAB>answer(alternatives)<TAB>path" in capsys.readouterr().err
