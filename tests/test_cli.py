"""The command line: the happy path once per command, and every bad input → one line, exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from seqlab.cli import main

TINY = [
    "model.hidden_size=16",
    "model.embed_dim=12",
    "train.max_steps=3",
    "train.batch_size=8",
    "model.num_heads=2",
]


def run(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def spam_run(tmp_path_factory, spam_records):
    folder = tmp_path_factory.mktemp("cli")
    data = folder / "spam.tsv"
    data.write_text("".join(f"{r['label']}\t{r['text']}\n" for r in spam_records), encoding="utf-8")
    assert (
        main(
            [
                "train",
                "--task",
                "classify",
                "--data",
                str(data),
                "--encoder",
                "gru",
                "--out",
                str(folder / "run"),
                *TINY,
            ]
        )
        == 0
    )
    return folder / "run", data


def test_train_eval_predict(capsys, spam_run):
    run_dir, data = spam_run
    code, out, _ = run(capsys, "eval", run_dir, "--data", data)
    assert code == 0 and {"accuracy", "f1_macro", "loss"} <= set(json.loads(out))
    code, out, _ = run(capsys, "predict", run_dir, "--text", "WINNER! claim your prize", "--text", "see you")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(rows) == 2 and rows[0]["label"] in ("ham", "spam")
    assert sum(rows[0]["probabilities"].values()) == pytest.approx(1.0)
    texts = run_dir.parent / "texts.txt"
    texts.write_text("WINNER! claim your prize\nsee you, at six\n")
    code, out, _ = run(capsys, "predict", run_dir, "--data", texts)
    assert code == 0 and len(out.splitlines()) == 2


def test_generate_and_tag(capsys, tmp_path, shakespeare_text, conll_records):
    text = tmp_path / "text.txt"
    text.write_text(shakespeare_text)
    assert (
        main(
            [
                "train",
                "--task",
                "lm",
                "--data",
                str(text),
                "--encoder",
                "transformer",
                "--out",
                str(tmp_path / "lm"),
                *TINY,
            ]
        )
        == 0
    )
    capsys.readouterr()
    code, out, _ = run(
        capsys,
        "generate",
        tmp_path / "lm",
        "--prompt",
        "KING",
        "--max-new-tokens",
        10,
        "--seed",
        1,
        "--top-k",
        5,
    )
    assert code == 0 and out.startswith("KING") and len(out.rstrip("\n")) >= 4
    conll = tmp_path / "ner"
    conll.mkdir()
    for name, part in (
        ("train", conll_records[:50]),
        ("valid", conll_records[50:65]),
        ("test", conll_records[65:]),
    ):
        (conll / f"{name}.txt").write_text(
            "\n\n".join("\n".join(f"{w} {t}" for w, t in zip(r["tokens"], r["tags"])) for r in part) + "\n"
        )
    assert (
        main(
            [
                "train",
                "--task",
                "tag",
                "--data",
                str(conll),
                "--out",
                str(tmp_path / "tag"),
                *TINY,
                "model.crf=true",
            ]
        )
        == 0
    )
    capsys.readouterr()
    code, out, _ = run(capsys, "predict", tmp_path / "tag", "--text", "Peter lives in Berlin")
    assert code == 0 and len(json.loads(out)["tags"]) == 4


def _bad(capsys, *args, fragment: str, out_dir: Path | None = None):
    code, _, err = run(capsys, *args)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: ") and fragment in err, err
    if out_dir is not None:
        assert not out_dir.exists(), "a failed run must not leave a run directory behind"


def test_missing_file(capsys, tmp_path):
    _bad(
        capsys,
        "train",
        "--task",
        "classify",
        "--data",
        tmp_path / "nope.csv",
        "--out",
        tmp_path / "r",
        fragment="data file not found",
        out_dir=tmp_path / "r",
    )


def test_empty_file(capsys, tmp_path):
    (tmp_path / "empty.csv").write_text("\n")
    _bad(
        capsys,
        "train",
        "--task",
        "classify",
        "--data",
        tmp_path / "empty.csv",
        "--out",
        tmp_path / "r",
        fragment="is empty",
        out_dir=tmp_path / "r",
    )


def test_wrong_column(capsys, tmp_path):
    (tmp_path / "d.csv").write_text("text,label\nhello,a\nbye,b\n")
    _bad(
        capsys,
        "train",
        "--task",
        "classify",
        "--data",
        tmp_path / "d.csv",
        "--out",
        tmp_path / "r",
        "data.text_column=body",
        fragment="has no column 'body' (columns: text, label)",
        out_dir=tmp_path / "r",
    )


def test_missing_label_column(capsys, tmp_path):
    (tmp_path / "d.jsonl").write_text('{"text": "hello"}\n{"text": "bye"}\n')
    _bad(
        capsys,
        "train",
        "--task",
        "classify",
        "--data",
        tmp_path / "d.jsonl",
        "--out",
        tmp_path / "r",
        fragment="has no label column",
        out_dir=tmp_path / "r",
    )


def test_undecodable_bytes(capsys, tmp_path):
    (tmp_path / "d.tsv").write_bytes(b"ham\tok\nspam\t\xff\xfe broken\n")
    _bad(
        capsys,
        "train",
        "--task",
        "classify",
        "--data",
        tmp_path / "d.tsv",
        "--out",
        tmp_path / "r",
        fragment="not UTF-8",
        out_dir=tmp_path / "r",
    )


def test_unknown_config_key(capsys, tmp_path, spam_run):
    _bad(
        capsys,
        "train",
        "--task",
        "classify",
        "--data",
        spam_run[1],
        "--out",
        tmp_path / "r",
        "model.layers=2",
        fragment="unknown config key 'model.layers'",
        out_dir=tmp_path / "r",
    )


def test_label_never_seen_in_training(capsys, tmp_path, spam_run):
    (tmp_path / "new.tsv").write_text("ham\thello there\nphishing\tclick this link\n")
    _bad(
        capsys,
        "eval",
        spam_run[0],
        "--data",
        tmp_path / "new.tsv",
        fragment="label 'phishing' was never seen",
    )


def test_sequence_over_the_limit(capsys, tmp_path, spam_run):
    _bad(
        capsys,
        "train",
        "--task",
        "classify",
        "--data",
        spam_run[1],
        "--out",
        tmp_path / "r",
        "data.max_length=5",
        "data.truncate=false",
        fragment="over the model's limit data.max_length=5",
        out_dir=tmp_path / "r",
    )


def test_incomplete_run_directory(capsys, tmp_path, spam_run):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(spam_run[0], broken)
    (broken / "model.safetensors").unlink()
    _bad(
        capsys,
        "predict",
        broken,
        "--text",
        "hi",
        fragment="not a complete run directory (missing model.safetensors)",
    )


def test_run_directory_of_another_format(capsys, tmp_path, spam_run):
    import shutil

    other = tmp_path / "other"
    shutil.copytree(spam_run[0], other)
    meta = json.loads((other / "meta.json").read_text())
    (other / "meta.json").write_text(json.dumps({**meta, "format_version": 99}))
    _bad(capsys, "eval", other, "--data", spam_run[1], fragment="run-directory format 99")


def test_existing_output_and_resume_of_a_folder_that_holds_no_run(capsys, tmp_path, spam_run):
    (tmp_path / "notes.txt").write_text("mine")
    _bad(
        capsys,
        "train",
        "--task",
        "classify",
        "--data",
        spam_run[1],
        "--out",
        spam_run[0],
        fragment="already exists",
    )
    _bad(
        capsys,
        "train",
        "--task",
        "classify",
        "--data",
        spam_run[1],
        "--out",
        tmp_path,
        "--resume",
        fragment="holds files but no seqlab run",
    )
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_usage_errors(capsys, spam_run):
    _bad(capsys, "train", "--task", "translate", fragment="invalid choice: 'translate'")
    _bad(capsys, "generate", spam_run[0], fragment="generate needs a model of task lm")
    _bad(capsys, "datasets", "fetch", "imagenet", fragment="unknown dataset 'imagenet'")


def test_console_script_exits_2_without_traceback(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "seqlab",
            "train",
            "--task",
            "classify",
            "--data",
            str(tmp_path / "missing.csv"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and result.stderr.startswith("error: data file not found")


def test_too_little_data_for_one_step(capsys, tmp_path, spam_run):
    _bad(
        capsys,
        "train",
        "--task",
        "classify",
        "--data",
        spam_run[1],
        "--out",
        tmp_path / "r",
        "train.batch_size=64",
        "train.accumulate=4",
        fragment="fewer than train.accumulate=4",
        out_dir=tmp_path / "r",
    )


def test_import_and_help_do_not_load_torch():
    code = (
        "import sys, seqlab, seqlab.cli\n"
        "try:\n    seqlab.cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "usage: seqlab" in result.stdout
