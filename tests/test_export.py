"""`seqlab export` and `seqlab.runtime`: for every (task, encoder) of the contract table, ONNX Runtime's
logits match PyTorch's on batches the graph was not traced on; generation outside PyTorch gives the same
greedy tokens; the runtime predicts without importing torch."""

from __future__ import annotations

import ast
import json
import sys

import numpy as np
import pytest
import torch
from conftest import tiny
from test_contract import CASES, config_of

from seqlab import runtime
from seqlab.errors import UserError
from seqlab.export import TOLERANCE, export_decoder, export_forward, export_voice
from seqlab.model import build_model
from seqlab.pipeline import prepare
from seqlab.tasks import task_type

pytest.importorskip("onnxruntime")


def held_out_batches(task, records: list):
    """Up to three batches of three held-out examples each, which the graph was not traced on."""
    batches = task.batches(task.encode(records, with_targets=False), 3)
    return [batch for _, (_, batch) in zip(range(3), batches)]


@pytest.mark.parametrize("family,encoder,extra", CASES)
def test_onnx_runtime_matches_pytorch(family, encoder, extra, request, tmp_path):
    import onnxruntime

    config = config_of(family, encoder, extra)
    data = request.getfixturevalue(family.splits)
    data = {split: prepare(config, records) for split, records in data.items()}
    task = task_type(config)(config)
    task.fit(data["train"])
    torch.manual_seed(0)
    model = build_model(config, **task.model_sizes()).eval()
    if task.steps_through_a_decoder:
        check = check_decoder if task.records == "pairs" else check_voice
        return check(model, task, data, tmp_path)
    with torch.no_grad():
        signature = export_forward(model, task, data["val"], tmp_path / "forward.onnx")
    assert signature["max_difference"] <= TOLERANCE
    session = onnxruntime.InferenceSession(str(tmp_path / "forward.onnx"), providers=["CPUExecutionProvider"])
    names = [field["name"] for field in signature["inputs"]]
    for batch in held_out_batches(task, data.get("test") or data["train"]):
        (got,) = session.run(None, {name: getattr(batch, name).numpy() for name in names})
        with torch.no_grad():
            expected = model(batch).logits.numpy()
        assert got.shape == expected.shape
        assert abs(got - expected).max() <= TOLERANCE


def check_decoder(model, task, data: dict, folder) -> None:
    """start.onnx and step.onnx write the tokens PyTorch's greedy decoding writes."""
    import contextlib

    import onnxruntime

    from seqlab.generation import GenerationConfig, decode

    with torch.no_grad():
        graphs = export_decoder(model, task, data["val"], folder)
    assert max(graph["max_difference"] for graph in graphs.values()) <= TOLERANCE
    start, step = (
        onnxruntime.InferenceSession(str(folder / graphs[name]["file"]), providers=["CPUExecutionProvider"])
        for name in ("start", "step")
    )
    greedy, limit = GenerationConfig(max_new_tokens=12, temperature=0), task.config.data.max_length
    for batch in held_out_batches(task, data.get("test") or data["train"]):
        fields = {
            name: getattr(batch, name).numpy()
            for name in ("inputs", "mask", "copy_ids")
            if getattr(batch, name) is not None
        }
        expected = decode(model, batch, greedy, contextlib.nullcontext, limit)
        assert runtime.decode(start, step, fields, limit, runtime.Sampling(12, 0)) == expected


def check_voice(model, task, data: dict, folder, steps: int = 20) -> None:
    """start.onnx and step.onnx give the frames and stop logits of PyTorch's synthesis, step by step."""
    import onnxruntime

    with torch.no_grad():
        graphs = export_voice(model, task, data["val"], folder)
    assert max(graph["max_difference"] for graph in graphs.values()) <= TOLERANCE
    start, step = (
        onnxruntime.InferenceSession(str(folder / graphs[name]["file"]), providers=["CPUExecutionProvider"])
        for name in ("start", "step")
    )
    reads = [value.name for value in step.get_inputs()]
    for batch in held_out_batches(task, data.get("test") or data["train"]):
        with torch.no_grad():
            memory, keys, state, context = model.head.start(model.encode(batch), batch)
            frame = memory.new_zeros(len(batch), model.head.frame_dim)
            fields = {name: getattr(batch, name).numpy() for name in ("inputs", "mask", "speakers")}
            got = dict(zip(("memory", "keys", "state", "context"), start.run(None, fields)))
            got["previous"], got["mask"] = frame.numpy(), fields["mask"]
            for _ in range(steps):
                frame, stop, state, context = model.head.step(frame, state, context, memory, keys, batch.mask)
                answer = step.run(None, {name: got[name] for name in reads})
                for g, e in zip(answer, (frame, stop, state, context)):
                    assert abs(g - e.numpy()).max() <= TOLERANCE
                got.update(previous=answer[0], state=answer[2], context=answer[3])


# -- exports of trained runs, used by seqlab.runtime ------------------------------------------------


@pytest.fixture(scope="module")
def exported(tmp_path_factory, spam_splits, conll_splits, shakespeare_splits, multi30k_splits):
    """Trained runs and their exports: a classifier, a CRF tagger reading characters, a translator, and a
    language model per encoder family that generates (recurrent, transformer, TCN)."""
    from seqlab.export import export
    from seqlab.pipeline import fit

    folder = tmp_path_factory.mktemp("export")
    runs = {
        "classify": (tiny("classify", "gru", **{"model.dropout": 0.3}), spam_splits),  # eval mode kept
        "tag": (tiny("tag", "lstm", **{"model.crf": True, "model.char_dim": 8}), conll_splits),
        **{f"lm-{e}": (tiny("lm", e), shakespeare_splits) for e in ("lstm", "transformer", "tcn")},
        "seq2seq": (tiny("seq2seq", "transformer", **{"model.copy": True}), multi30k_splits),
    }
    made = {}
    for name, (config, data) in runs.items():
        pipeline = fit(config, folder / name, data)
        export(pipeline, folder / f"{name}.onnx", data["val"])
        made[name] = (pipeline, folder / f"{name}.onnx")
    return made


TEXTS = ["Free entry in a weekly competition to win FA Cup final tickets", "Ok lar... Joking wif u oni", "x"]


def test_runtime_classifies_as_pytorch_does(exported):
    from seqlab import runtime

    pipeline, folder = exported["classify"]
    expected = list(pipeline.task.prediction_rows(pipeline, pipeline.task.records_from_texts(TEXTS)))
    got = runtime.load(folder).predict(TEXTS)
    assert [row["label"] for row in got] == [row["label"] for row in expected]
    for g, e in zip(got, expected):
        assert g["probabilities"] == pytest.approx(e["probabilities"], abs=1e-5)


def test_runtime_tags_as_pytorch_does(exported):
    """Words unseen in training, characters and CRF (Viterbi) decoding included."""
    from seqlab import runtime

    pipeline, folder = exported["tag"]
    sentences = ["EU rejects German call to boycott British lamb .", "Zyxwv Qqq visited Blorf in Paris"]
    expected = pipeline.predict(pipeline.task.records_from_texts(sentences))
    assert [row["tags"] for row in runtime.load(folder).predict(sentences)] == expected


@pytest.mark.parametrize("encoder", ["lstm", "transformer", "tcn"])
def test_runtime_generates_the_same_greedy_tokens(exported, encoder):
    """40 tokens: past the transformer's 32-position context, so its window slides as PyTorch's does."""
    from seqlab import runtime
    from seqlab.generation import GenerationConfig

    pipeline, folder = exported[f"lm-{encoder}"]
    expected = pipeline.generate("ROMEO:", GenerationConfig(max_new_tokens=40, temperature=0))
    model = runtime.load(folder)
    assert model.generate("ROMEO:", runtime.Sampling(max_new_tokens=40, temperature=0)) == expected
    listeners: list[str] = []
    model.generate("ROMEO:", runtime.Sampling(max_new_tokens=40, temperature=0), on_text=listeners.append)
    assert "".join(listeners) == expected[0]
    sampling = runtime.Sampling(max_new_tokens=8, top_k=5, top_p=0.9, seed=1)
    sampled = model.generate("", sampling, num_samples=2)
    assert len(sampled) == 2 and sampled == model.generate("", sampling, num_samples=2)


def test_runtime_translates_as_pytorch_does(exported):
    """A transformer that copies from its source, its targets written greedily and by sampling."""
    from seqlab import runtime
    from seqlab.generation import GenerationConfig

    pipeline, folder = exported["seq2seq"]
    sources = ["Ein Mann fährt Fahrrad.", "Zwei Hunde spielen im Schnee."]
    model = runtime.load(folder)
    assert model.verbs == ["translate"]
    greedy = pipeline.translate(sources, GenerationConfig(max_new_tokens=20, temperature=0))
    assert model.translate(sources, runtime.Sampling(max_new_tokens=20, temperature=0)) == greedy
    sampling = runtime.Sampling(max_new_tokens=10, temperature=0.8, seed=3)
    assert model.translate(sources, sampling) == model.translate(sources, sampling)


@pytest.mark.parametrize("name", ["direct", "rollout"])
def test_runtime_forecasts_as_pytorch_does(listeners, name):
    """The rows `seqlab forecast` writes, times and quantiles included, from a CSV file."""
    from seqlab.data.series import read_series

    pipeline, folder = listeners[name]
    expected = pipeline.forecast(read_series(listeners["series"], pipeline.config.data), 8)
    got = runtime.load(folder).forecast(listeners["series"], 8)
    assert [{k: v for k, v in row.items() if k[0] not in "fq"} for row in got] == [
        {k: v for k, v in row.items() if k[0] not in "fq"} for row in expected
    ]
    assert len(got) == 7 * 8 and got[0]["ds"] == "2016-07-17 16:00:00"  # the hour after the last
    numbers = [[[v for k, v in row.items() if k[0] in "fq"] for row in rows] for rows in (got, expected)]
    assert np.abs(np.subtract(*numbers)).max() <= 1e-4 * np.abs(numbers[1]).max()
    with pytest.raises(UserError, match="at most 12 points ahead"):
        runtime.load(folder).forecast(listeners["series"], 13)


def test_the_runtime_names_the_extra_a_verb_needs(listeners, monkeypatch):
    import importlib.util

    found = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *args: None if name in ("pandas", "librosa") else found(name, *args),
    )
    with pytest.raises(UserError, match=r"forecasting needs pandas: pip install './runtime\[forecast\]'"):
        runtime.load(listeners["direct"][1]).forecast(listeners["series"])
    with pytest.raises(UserError, match=r"needs librosa: pip install './runtime\[audio\]'"):
        runtime.load(listeners["ctc"][1]).transcribe([listeners["series"]])


def test_runtime_transcribes_as_pytorch_does(listeners, strings):
    """Frames, and an audio file the runtime turns into frames itself."""
    from conftest import shared

    from seqlab.data.audio import read_clips

    pipeline, folder = listeners["ctc"]
    model = runtime.load(folder)
    assert model.verbs == ["transcribe"]
    utterances = strings["test"]
    assert model.transcribe([r["values"] for r in utterances]) == pipeline.transcribe(utterances)
    wav = shared("free-spoken-digit", "recordings", "7_theo_0.wav")
    assert model.transcribe([wav]) == pipeline.transcribe(read_clips(wav, labelled=False))
    width = utterances[0]["values"].shape[1]
    with pytest.raises(UserError, match="over the model's limit"):
        model.transcribe([np.zeros((10_000, width), dtype=np.float32)])
    with pytest.raises(UserError, match="is not frames"):
        model.transcribe([np.zeros((10, width + 1), dtype=np.float32)])


def test_runtime_runs_without_torch(exported, listeners):
    """A process that cannot import torch loads exports, classifies, generates, forecasts, transcribes."""
    from conftest import shared, without_torch

    _, classifier = exported["classify"]
    _, lm = exported["lm-transformer"]
    wav = shared("free-spoken-digit", "recordings", "7_theo_0.wav")
    label, generated, rows, transcript = without_torch(
        f"print(runtime.load({str(classifier)!r}).predict(['win a prize now'])[0]['label'])",
        f"print(len(runtime.load({str(lm)!r}).generate('ROMEO', runtime.Sampling(5, 0))[0]) > 0)",
        f"print(len(runtime.load({str(listeners['direct'][1])!r}).forecast({str(listeners['series'])!r})))",
        f"print(type(runtime.load({str(listeners['ctc'][1])!r}).transcribe([{str(wav)!r}])[0]).__name__)",
    )
    assert label in ("ham", "spam") and generated == "True" and rows == str(7 * 12) and transcript == "str"


def test_export_command(exported, tmp_path, capsys):
    from seqlab.cli import main

    pipeline, _ = exported["classify"]
    data = tmp_path / "texts.tsv"
    data.write_text("ham\tsee you at home\nspam\tURGENT call now to claim your prize\n", encoding="utf-8")
    out = tmp_path / "out"
    assert main(["export", str(pipeline.run_dir), "--out", str(out), "--data", str(data)]) == 0
    description = json.loads((out / "export.json").read_text())
    assert description["task"] == "classify" and description["labels"] == ["ham", "spam"]
    assert {f["name"] for f in description["graphs"]["forward"]["inputs"]} == {"inputs", "mask"}
    assert (out / "tokenizer.json").is_file() and (out / "forward.onnx").is_file()
    capsys.readouterr()
    assert main(["export", str(pipeline.run_dir), "--out", str(out), "--data", str(data)]) == 2
    assert "is not an empty folder" in capsys.readouterr().err
    assert main(["export", str(pipeline.run_dir), "--out", str(data), "--data", str(data)]) == 2  # a file
    assert "is not an empty folder" in capsys.readouterr().err


def test_a_full_disk_leaves_no_export(exported, tmp_path, capsys, monkeypatch):
    import errno

    from seqlab.cli import main

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch.onnx, "export", full)
    pipeline, _ = exported["classify"]
    data = tmp_path / "texts.txt"
    data.write_text("see you at home\n", encoding="utf-8")
    assert main(["export", str(pipeline.run_dir), "--out", str(tmp_path / "out"), "--data", str(data)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no space left" in err and not (tmp_path / "out").exists()


def test_runtime_speaks_as_pytorch_does(tmp_path, voices):
    """A voice exported, its frames taken step by step outside PyTorch, and heard by Griffin-Lim."""
    from conftest import RATE

    from seqlab.export import export
    from seqlab.pipeline import fit

    config = tiny("tts", "gru", **{"data.sample_rate": RATE, "data.stack_frames": 2})
    pipeline = fit(config, tmp_path / "run", voices)
    export(pipeline, tmp_path / "voice", voices["val"])
    model = runtime.load(tmp_path / "voice")
    assert model.verbs == ["speak"]
    texts = ["two", "zero"]
    for got, expected in zip(model.speak(texts, "jackson"), pipeline.speak(texts, "jackson")):
        assert got.shape == expected.shape and abs(got - expected).max() <= 1e-3
    with pytest.raises(UserError, match="never heard"):
        model.speak(["two?"])
    with pytest.raises(UserError, match="not one of the voice's"):
        model.speak(["two"], "nobody")


def test_export_refuses_what_it_cannot_read(tmp_path, capsys):
    from seqlab.cli import main

    assert main(["export", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out")]) == 2
    assert "not found" in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_runtime_refuses_what_is_not_an_export(tmp_path, exported):
    import shutil

    from seqlab import runtime
    from seqlab.errors import UserError

    with pytest.raises(UserError, match="not a seqlab export"):
        runtime.load(tmp_path)
    for damaged in ("forward.onnx", "tokenizer.json"):
        copy = tmp_path / damaged
        shutil.copytree(exported["classify"][1], copy)
        (copy / damaged).write_bytes(b"\x00 not what it was")
        with pytest.raises(UserError, match=f"{damaged}.*damaged|damaged.*{damaged}"):
            runtime.load(copy)


def test_the_runtime_distribution_holds_what_the_runtime_imports():
    """runtime/ (seqlab-runtime) links seqlab's torch-free modules: every seqlab module they import, on
    loading or inside a function, is linked too, and none of them imports torch or a package beyond the
    runtime's three on loading (pandas, soundfile, librosa and Pillow, its extras, only inside the functions
    that read series, audio and images; test_runtime_runs_without_torch runs those)."""
    import os
    from pathlib import Path

    linked = Path(__file__).resolve().parents[1] / "runtime" / "src"
    files = [Path(folder, name) for folder, _, names in os.walk(linked, followlinks=True) for name in names]
    files = [path for path in files if path.suffix == ".py"]
    modules = {
        ".".join(path.relative_to(linked).with_suffix("").parts).removesuffix(".__init__") for path in files
    }
    allowed = {"numpy", "onnxruntime", "tokenizers", "seqlab"} | set(sys.stdlib_module_names)
    assert {
        "seqlab.runtime.predictions",
        "seqlab.data.series",
        "seqlab.data.audio",
        "seqlab.data.kb",
    } <= modules
    for path in files:
        assert path.resolve().is_file(), f"{path} links to nothing"
        tree = ast.parse(path.read_text())
        for node in tree.body:
            for name in imported_names(node):
                assert name.split(".")[0] in allowed | {""}, f"{path.name} imports {name}"
        typing_only = {
            id(inner)
            for node in tree.body
            if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING"
            for inner in ast.walk(node)
        }
        for node in ast.walk(tree):
            for name in imported_names(node):
                if name.startswith("seqlab.") and id(node) not in typing_only:
                    imported = {name, *(f"{name}.{alias.name}" for alias in getattr(node, "names", []))}
                    assert imported & modules, f"{path.name} imports {name}, not in runtime/"


def imported_names(node) -> list[str]:
    """The modules an import statement names ([] for any other node)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    return [node.module or ""] if isinstance(node, ast.ImportFrom) else []
