"""Questions to SQL: the text2sql-data layout and its two splits, exact match, execution on a read-only
database, and bad input."""

from __future__ import annotations

import json
import sqlite3

import pytest
from conftest import shared

from seqlab.cli import main
from seqlab.data.text2sql import ReadOnlyDatabase, filled, read_text2sql
from seqlab.metrics import sql

TINY = ["model.hidden_size=16", "model.embed_dim=12", "train.max_steps=3", "train.batch_size=8"]


def test_geoquery_deals_sentences_by_their_own_split_or_by_their_query():
    geography = shared("text2sql", "geography.json")
    by_question = read_text2sql(geography, "question")
    assert {k: len(v) for k, v in by_question.items()} == {"val": 49, "test": 279, "train": 549}
    first = by_question["val"][0]
    assert first["source"] == "what is the biggest city in state_name0"
    assert first["variables"] == {"state_name0": "arizona"} and first["target"] == first["queries"][0]
    by_query = read_text2sql(geography, "query")
    train_queries = {r["target"] for r in by_query["train"]}
    assert not train_queries & {r["target"] for r in by_query["test"]}  # no test query trains


def test_variables_are_filled_longest_name_first():
    query = 'SELECT * FROM t WHERE a = "x1" AND b = "x10" ;'
    assert filled(query, {"x1": "one", "x10": "ten"}) == 'SELECT * FROM t WHERE a = "one" AND b = "ten" ;'


@pytest.fixture
def database(tmp_path):
    path = tmp_path / "shop.sqlite"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE item (name TEXT, price INT)")
        connection.executemany("INSERT INTO item VALUES (?, ?)", [("tea", 3), ("cup", 5), ("pot", 9)])
    return path


def test_execution_compares_rows_and_never_writes(database):
    gold = ['SELECT name FROM item WHERE price < "p0" ;']
    outputs = [
        'SELECT name FROM item WHERE price < "p0" ;',  # the gold query: both measures
        "SELECT name FROM item WHERE price <= 4 ;",  # other words, the same rows: execution only
        "DELETE FROM item ;",  # refused by the read-only database: wrong
        "SELECT nonsense",  # rejected: wrong
    ]
    db = ReadOnlyDatabase(database)
    scores = sql(outputs, [gold] * 4, [{"p0": "4"}] * 4, db)
    db.close()
    assert scores == {"exact_match": 0.25, "execution_accuracy": 0.5, "gold_rejected": 0}
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT COUNT(*) FROM item").fetchone() == (3,)


def test_a_gold_query_the_database_rejects_is_left_out_and_counted(database):
    db = ReadOnlyDatabase(database)
    scores = sql(
        ["SELECT 1 ;", "SELECT name FROM item ;"],
        [["SELECT * FROM nowhere ;"], ["SELECT name FROM item ;"]],
        [{}, {}],
        db,
    )
    db.close()
    assert scores == {"exact_match": 0.5, "execution_accuracy": 1.0, "gold_rejected": 1}


def test_a_run_on_geoquery_scores_exact_match_and_execution(capsys, tmp_path):
    geography = shared("text2sql", "geography.json")
    database = "text2sql/geography-db.added-in-2020.sqlite"  # in the dataset cache
    args = [
        "train",
        "--task",
        "seq2seq",
        "--data",
        geography,
        "--out",
        tmp_path / "run",
        f"data.database={database}",
    ]
    assert main([str(a) for a in [*args, *TINY, "data.vocab_size=400", "data.max_length=200"]]) == 0
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert {"exact_match", "execution_accuracy", "gold_rejected"} <= set(metrics)


@pytest.mark.parametrize(
    "setting,message",
    [
        ("data.split=sentence", "data.split must be question or query"),
        ("data.database=no.sqlite", "no such SQLite file"),
    ],
)
def test_a_wrong_split_or_a_missing_database_is_one_clear_line(capsys, tmp_path, setting, message):
    geography = shared("text2sql", "geography.json")
    args = ["train", "--task", "seq2seq", "--data", geography, "--out", tmp_path / "run", setting]
    assert main([str(a) for a in [*args, *TINY, "data.vocab_size=400", "data.max_length=200"]]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and not (tmp_path / "run").exists()
