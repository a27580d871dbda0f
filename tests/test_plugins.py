"""Parts from another installed package: tests/plugin is such a package, with an encoder family (`bag`),
a task (`regress`) and an input kind (`textfolder`) declared as entry points. Installed beside seqlab,
each trains and predicts through the same commands as seqlab's own parts, and nothing in seqlab names
them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PLUGIN = Path(__file__).parent / "plugin"
SEQLAB = "import sys; from seqlab.cli import main; sys.exit(main())"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The plug-in installed by pip into a folder of its own, which the commands below put on their path."""
    folder = tmp_path_factory.mktemp("site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(folder),
            str(PLUGIN),
        ],
        check=True,
    )
    return folder


def seqlab(site: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), *sys.path])}
    return subprocess.run([sys.executable, "-c", SEQLAB, *args], env=env, capture_output=True, text=True)


@pytest.fixture(scope="module")
def ratings(tmp_path_factory, spam_records) -> Path:
    """Real SMS messages with a number each: 1.0 for spam, 0.0 for ham."""
    path = tmp_path_factory.mktemp("data") / "spamminess.csv"
    rows = [f'"{r["text"].replace(chr(34), chr(39))}",{float(r["label"] == "spam")}' for r in spam_records]
    path.write_text("text,label\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def messages(tmp_path_factory, spam_records) -> Path:
    """The same messages as text files in class folders (ham/, spam/), the `textfolder` layout."""
    folder = tmp_path_factory.mktemp("data") / "messages"
    for n, record in enumerate(spam_records):
        (folder / record["label"]).mkdir(parents=True, exist_ok=True)
        (folder / record["label"] / f"{n}.txt").write_text(record["text"], encoding="utf-8")
    return folder


TINY = [
    "model.hidden_size=16",
    "model.embed_dim=12",
    "train.max_steps=6",
    "train.batch_size=16",
    "train.precision=fp32",
]


def test_a_plugin_task_and_encoder_train_and_predict(site, ratings, tmp_path):
    run = tmp_path / "run"
    done = seqlab(
        site,
        "train",
        "--task",
        "regress",
        "--encoder",
        "bag",
        "--data",
        str(ratings),
        "--out",
        str(run),
        *TINY,
    )
    assert done.returncode == 0, done.stderr
    metrics = json.loads((run / "metrics.json").read_text())
    assert {"mse", "mae"} <= set(metrics) and metrics["mse"] >= 0
    assert (
        "bag_squash: true" in (run / "config.yaml").read_text()
    )  # the encoder's own setting, saved with the run
    predicted = seqlab(site, "predict", str(run), "--text", "WINNER! Claim your prize now")
    assert predicted.returncode == 0, predicted.stderr
    assert isinstance(json.loads(predicted.stdout)["value"], float)


def test_a_plugin_encoder_serves_seqlabs_own_tasks(site, spam_file, tmp_path):
    done = seqlab(
        site,
        "train",
        "--task",
        "classify",
        "--encoder",
        "bag",
        "--data",
        str(spam_file),
        "--out",
        str(tmp_path / "run"),
        "model.bag_squash=false",
        *TINY,
    )
    assert done.returncode == 0, done.stderr
    assert {"accuracy", "f1_macro"} <= set(json.loads(done.stdout.splitlines()[-1]))


def test_what_a_plugin_encoder_cannot_do_is_refused_in_one_line(site, tmp_path):
    done = seqlab(
        site, "train", "--task", "seq2seq", "--encoder", "bag", "--data", str(tmp_path / "none.tsv")
    )
    assert done.returncode == 2
    assert (
        done.stderr.strip()
        == "error: encoder bag has no decoder, and task seq2seq writes the target with one"
    )


def test_a_plugin_input_kind_reads_its_layout(site, messages, spam_records, tmp_path):
    run = tmp_path / "run"
    done = seqlab(
        site,
        "train",
        "--task",
        "classify",
        "--encoder",
        "gru",
        "--data",
        str(messages),
        "--out",
        str(run),
        "data.input=textfolder",
        *TINY,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads((run / "meta.json").read_text())["split_sizes"]["train"] == 128  # 160 less val and test
    predicted = seqlab(site, "predict", str(run), "--data", str(messages / "spam"))
    assert predicted.returncode == 0, predicted.stderr
    rows = [json.loads(line) for line in predicted.stdout.splitlines()]
    assert len(rows) == sum(r["label"] == "spam" for r in spam_records) and {r["label"] for r in rows} <= {
        "ham",
        "spam",
    }


def test_without_the_plugin_its_names_are_unknown(tmp_path):
    done = seqlab(tmp_path, "train", "--task", "regress", "--data", "x.csv")
    assert done.returncode == 2 and "invalid choice: 'regress'" in done.stderr


def test_extending_guide_runs(site, ratings, messages, tmp_path, monkeypatch):
    """docs/extending.md: its commands as written (training capped at two steps), the plug-in installed
    as its `pip install` line says."""
    import re
    import shlex

    guide = Path(__file__).resolve().parents[1] / "docs" / "extending.md"
    lines = [
        line.strip()
        for body in re.findall(r"```bash\n(.*?)```", guide.read_text(), flags=re.S)
        for line in body.splitlines()
        if line.strip()
    ]
    assert "pip install ./tests/plugin" in lines
    monkeypatch.chdir(tmp_path)
    (tmp_path / "spamminess.csv").symlink_to(ratings)
    (tmp_path / "messages").symlink_to(messages)
    commands = [shlex.split(line)[1:] for line in lines if line.startswith("seqlab ")]
    assert len(commands) >= 5
    for args in commands:
        if args[0] in ("train", "compare"):
            args += ["train.max_steps=2", "train.eval_every=2"]
        done = seqlab(site, *args)
        assert done.returncode == 0, f"seqlab {' '.join(args)}: {done.stderr}"
