"""Nothing lost: runs that never share a folder, checkpoints that are whole or absent, resumes that go on
exactly, and one clear line (exit 2) for every file or number a user gets wrong."""

from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path

import pytest
import torch
from conftest import run_in_process, tiny
from safetensors.torch import load_file

from seqlab.bench import reliability
from seqlab.cli import main
from seqlab.errors import UserError
from seqlab.pipeline import fit, load
from seqlab.training import run_dir as rd


def _one_line_error(capsys, *args) -> str:
    """Run the CLI; assert exit 2 with one line on stderr and no traceback; return the line."""
    code = main([str(a) for a in args])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err, err
    return err


@pytest.fixture(scope="module")
def finished(tmp_path_factory, spam_splits) -> Path:
    """A complete classify run."""
    out = tmp_path_factory.mktemp("finished") / "run"
    fit(tiny("classify", "gru", **{"train.max_steps": 2}), out, spam_splits)
    return out


# -- runs that never collide ------------------------------------------------------------------------


def test_a_folder_that_another_run_holds_is_refused_naming_its_process(spam_splits, tmp_path):
    out = tmp_path / "run"
    with rd.claimed(out):
        assert (out / rd.LOCK).read_text().strip() == str(os.getpid())
        with pytest.raises(
            UserError, match=rf"being written by another seqlab run \(process {os.getpid()}\)"
        ):
            fit(tiny("classify", "gru"), out, spam_splits)
    assert not (out / rd.LOCK).exists()  # released and deleted when the holder ends
    fit(tiny("classify", "gru", **{"train.max_steps": 1}), out, spam_splits)
    assert (out / "meta.json").exists() and not (out / rd.LOCK).exists()


def test_default_run_names_started_in_the_same_second_differ(tmp_path):
    names = [rd.new_run_dir("classify-gru", tmp_path) for _ in range(3)]
    assert len(set(names)) == 3 and all(n.is_dir() and n.name.startswith("classify-gru-") for n in names)


def test_default_run_directory_is_made_for_the_run(spam_splits, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first = fit(tiny("classify", "gru", **{"train.max_steps": 1}), None, spam_splits).run_dir
    second = fit(tiny("classify", "gru", **{"train.max_steps": 1}), None, spam_splits).run_dir
    assert first != second and first.parent == second.parent == Path("runs")


# -- crash safety -----------------------------------------------------------------------------------


class _Killed(BaseException):
    """Stands for a kill: not an error of the user's, so the run directory stays for --resume."""


def _stop_at(step: int):
    def hear(at: int, metrics: dict) -> None:
        if at == step:
            raise _Killed

    return hear


def test_an_interrupted_run_resumed_ends_with_the_weights_of_an_uninterrupted_one(spam_splits, tmp_path):
    settings = {"train.max_steps": 6, "train.eval_every": 1, "model.dropout": 0.3}  # dropout draws randomness
    fit(tiny("classify", "gru", **settings), tmp_path / "straight", spam_splits)
    with pytest.raises(_Killed):
        fit(tiny("classify", "gru", **settings), tmp_path / "cut", spam_splits, on_evaluate=_stop_at(3))
    assert json.loads((tmp_path / "cut" / "checkpoints" / "last.json").read_text())["step"] == 3
    fit(tiny("classify", "gru", **settings), tmp_path / "cut", spam_splits, resume=True)
    straight = load_file(tmp_path / "straight" / "model.safetensors")
    resumed = load_file(tmp_path / "cut" / "model.safetensors")
    assert all(torch.equal(straight[name], resumed[name]) for name in straight)
    assert (tmp_path / "straight" / "history.csv").read_text() != ""
    steps = [row["step"] for row in rd.read_history(tmp_path / "cut" / "history.csv")]
    assert steps == [1, 2, 3, 4, 5, 6]


def test_resuming_a_finished_run_trains_no_further(spam_splits, tmp_path):
    settings = {"train.max_steps": 3, "train.eval_every": 1}
    fit(tiny("classify", "gru", **settings), tmp_path / "run", spam_splits)
    weights = (tmp_path / "run" / "model.safetensors").read_bytes()
    fit(tiny("classify", "gru", **settings), tmp_path / "run", spam_splits, resume=True)
    assert json.loads((tmp_path / "run" / "meta.json").read_text())["steps"] == 3
    assert (tmp_path / "run" / "model.safetensors").read_bytes() == weights


def test_a_checkpoint_cut_short_by_a_crash_is_ignored_and_its_leftovers_removed(spam_splits, tmp_path):
    out = tmp_path / "run"
    settings = {"train.max_steps": 4, "train.eval_every": 2}
    with pytest.raises(_Killed):
        fit(tiny("classify", "gru", **settings), out, spam_splits, on_evaluate=_stop_at(2))
    checkpoints = out / "checkpoints"
    (checkpoints / "step-0000004").mkdir()  # a crash while the next checkpoint was written:
    (checkpoints / "step-0000004" / "weights.safetensors").write_bytes(b"\0" * 10)  # its folder half full,
    (out / ".meta.json.0123456789ab.partial").write_bytes(b"")  # a temporary file left behind
    fit(tiny("classify", "gru", **settings), out, spam_splits, resume=True)
    assert sorted(p.name for p in checkpoints.iterdir()) == ["last.json", "step-0000004"]
    assert not list(out.rglob("*.partial")) and load(out).predict([{"text": "win a prize"}])


def test_checkpoints_on_a_time_interval_between_evaluations(spam_splits, tmp_path, monkeypatch):
    from seqlab.training import loop

    steps = []
    real = loop._checkpoint
    monkeypatch.setattr(loop, "_checkpoint", lambda *args: steps.append(args[-1].step) or real(*args))
    settings = {"train.max_steps": 5, "train.eval_every": 100, "train.checkpoint_minutes": 1e-9}
    fit(tiny("classify", "gru", **settings), tmp_path / "r", spam_splits)
    assert steps == [1, 2, 3, 4, 5]  # every step's interval has passed; the last is the evaluation's
    assert len(rd.read_history(tmp_path / "r" / "history.csv")) == 1


def test_resume_of_a_run_stopped_before_its_first_checkpoint_starts_it_again(spam_splits, tmp_path):
    out = tmp_path / "run"
    fit(tiny("classify", "gru", **{"train.max_steps": 2}), out, spam_splits)
    for name in ("checkpoints", "meta.json", "metrics.json"):
        shutil.rmtree(out / name) if name == "checkpoints" else (out / name).unlink()
    pipeline = fit(tiny("classify", "gru", **{"train.max_steps": 2}), out, spam_splits, resume=True)
    assert pipeline.run_dir == out and json.loads((out / "meta.json").read_text())["steps"] == 2
    fresh = fit(tiny("classify", "gru", **{"train.max_steps": 1}), tmp_path / "new", spam_splits, resume=True)
    assert (fresh.run_dir / "meta.json").exists()  # --resume where there is nothing yet: a new run


def test_a_resume_that_changes_the_model_is_refused_before_writing(capsys, finished, spam_file, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(finished, run)
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    err = _one_line_error(
        capsys,
        "train",
        "--task",
        "classify",
        "--data",
        spam_file,
        "--encoder",
        "lstm",
        "--out",
        run,
        "--resume",
    )
    assert "model.encoder ('lstm', saved 'gru')" in err
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before
    load(run)


def test_a_failed_run_leaves_nothing_behind(spam_splits, tmp_path):
    out = tmp_path / "run"
    with pytest.raises(UserError, match="train.monitor=bleu is not a validation metric"):
        fit(tiny("classify", "gru", **{"train.monitor": "bleu"}), out, spam_splits)
    assert not out.exists()
    mine = tmp_path / "mine"
    mine.mkdir()
    with pytest.raises(UserError):
        fit(tiny("classify", "gru", **{"train.monitor": "bleu"}), mine, spam_splits)
    assert mine.is_dir() and not list(mine.iterdir())  # a folder the user made stays, emptied


def test_a_full_disk_is_one_line_and_the_half_written_run_is_removed(spam_splits, tmp_path, monkeypatch):
    import seqlab.files

    real = seqlab.files.os.fdopen
    written = []

    def filling(fd, mode):
        written.append(fd)
        if len(written) > 3:  # the disk fills after three files
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd, mode)

    monkeypatch.setattr(seqlab.files.os, "fdopen", filling)
    with pytest.raises(UserError, match="no space left on the disk for .*; free some space"):
        fit(tiny("classify", "gru"), tmp_path / "run", spam_splits)
    assert not (tmp_path / "run").exists()


def test_an_output_that_cannot_be_written_is_one_line(capsys, spam_file, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    err = _one_line_error(
        capsys, "train", "--task", "classify", "--data", spam_file, "--out", blocker / "run"
    )
    assert f"cannot write {blocker / 'run'}" in err
    err = _one_line_error(capsys, "train", "--task", "classify", "--data", spam_file, "--out", blocker)
    assert str(blocker) in err


# -- determinism -------------------------------------------------------------------------------------------


def test_deterministic_runs_on_one_thread_and_repeats_bit_for_bit(spam_splits, tmp_path):
    settings = {"train.max_steps": 3, "model.dropout": 0.2, "model.hidden_size": 32}
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        for name in ("a", "b"):
            fit(
                tiny("classify", "transformer", **settings, **{"train.deterministic": True}),
                tmp_path / name,
                spam_splits,
            )
        assert torch.get_num_threads() == 1
        fit(
            tiny("classify", "transformer", **settings, **{"train.threads": 1}), tmp_path / "one", spam_splits
        )
    finally:
        torch.set_num_threads(threads)
    weights = [(tmp_path / name / "model.safetensors").read_bytes() for name in ("a", "b", "one")]
    assert weights[0] == weights[1] == weights[2]


# -- every bad input of `seqlab bench reliability` ----------------------------------------------------------


@pytest.fixture(scope="module")
def case_runs(tmp_path_factory) -> dict[str, Path]:
    return reliability.train_runs(tmp_path_factory.mktemp("case-runs"))


@pytest.mark.parametrize("case", reliability.cases(), ids=lambda case: case.name)
def test_a_bad_input_is_one_line_and_exit_2_leaving_nothing(case, case_runs, tmp_path):
    folder = tmp_path / "case"
    reliability.prepare(case, folder, case_runs)
    before = reliability.listing(folder)
    shutil.rmtree(folder)
    code, err = run_in_process(case, folder, case_runs)
    assert reliability.judge(case, code, err, before, reliability.listing(folder)) == ""


def test_the_cases_cover_every_kind_of_input_and_at_least_150():
    kinds = {case.modality for case in reliability.cases()}
    assert len(reliability.cases()) >= 150
    assert {"text", "tagging", "pairs", "series", "dna", "protein", "audio", "music", "image"} <= kinds
