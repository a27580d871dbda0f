"""`seqlab.runtime`'s `predict` for every task it answers beyond text classification and tagging: for each,
a tiny trained run and its export give the same rows for the same held-out inputs, PyTorch's pipeline on
its records and the runtime on typed texts, files, arrays or records of the task's own shape."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pytest
from test_contract import FAMILY, config_of

from seqlab import runtime
from seqlab.data.relations import marked
from seqlab.errors import UserError
from seqlab.pipeline import fit, prepare

pytest.importorskip("onnxruntime")


def typed(text_of: Callable[[dict], str]) -> Callable:
    """The held-out records as typed texts, the pipeline reading them as `seqlab predict --text` does."""

    def inputs(pipeline, records: list) -> tuple[list, list]:
        texts = [text_of(r) for r in records]
        return texts, pipeline.task.records_from_texts(texts)

    return inputs


def values(pipeline, records: list) -> tuple[list, list]:
    """Arrays of values (T, C), as the run's input kind makes them."""
    records = prepare(pipeline.config, records)
    return [r["values"] for r in records], [{"values": r["values"]} for r in records]


def files(pipeline, records: list) -> tuple[list, list]:
    """Image files, read and readied by the runtime itself."""
    return [r["image"] for r in records], [{"image": r["image"]} for r in records]


def as_they_are(pipeline, records: list) -> tuple[list, list]:
    """Records of the task's own shape (series, scenes), given to both alike."""
    return records, records


def scene_file(pipeline, records: list) -> tuple[list, list]:
    """A whole ETH/UCY scene file, read by the runtime itself."""
    from conftest import shared

    from seqlab.data.trajectories import read_scenes

    path = shared("eth-ucy", "zara1", "test", "crowds_zara01.txt")
    return [str(path)], read_scenes(path)


@dataclass(frozen=True)
class Case:
    family: str  # the contract table's row
    inputs: Callable  # (pipeline, held-out records) → (the runtime's inputs, the pipeline's records)
    settings: dict = field(default_factory=dict)


CASES = {
    "relation": Case("relation", typed(lambda r: " ".join(marked(r)[0]))),
    "relation-chars": Case("relation", typed(lambda r: " ".join(marked(r)[0])), {"model.char_dim": 8}),
    "kgqa": Case("kgqa", typed(lambda r: r["question"])),
    "link": Case("link", typed(lambda r: f"{r['head']}\t{r['relation']}")),
    "extract": Case("extract", typed(lambda r: r["source"])),
    "dna-classify": Case("dna-classify", typed(lambda r: r["text"].lower()), {"data.strand_symmetric": True}),
    "dna-tag": Case("dna-tag", typed(lambda r: "".join(r["tokens"]))),
    "protein-tag": Case("protein-tag", typed(lambda r: "".join(r["tokens"]))),
    "series-classify": Case("series-classify", values),
    "image-classify": Case("image-classify", values),
    "caption": Case("caption", files),
    "anomaly": Case("anomaly", as_they_are),
    "anomaly-likelihood": Case("anomaly", as_they_are, {"data.anomaly_score": "likelihood"}),
    "trajectory": Case("trajectory", as_they_are),
    "trajectory-file": Case("trajectory", scene_file),
}


def same(got, expected) -> None:
    """Equal rows, numbers within float32's rounding."""
    if isinstance(expected, dict):
        assert got.keys() == expected.keys()
        for key in expected:
            same(got[key], expected[key])
    elif isinstance(expected, (list, tuple)):
        assert len(got) == len(expected)
        for g, e in zip(got, expected):
            same(g, e)
    elif isinstance(expected, float):
        assert got == pytest.approx(expected, abs=1e-5)
    else:
        assert got == expected


@pytest.fixture(scope="module")
def trained(tmp_path_factory, request):
    """A run and its export per case, made on first use."""
    from seqlab.export import export

    made: dict[str, tuple] = {}

    def get(name: str):
        if name not in made:
            case, folder = CASES[name], tmp_path_factory.mktemp(name)
            family = FAMILY[case.family]
            data = request.getfixturevalue(family.splits)
            pipeline = fit(config_of(family, "gru", case.settings), folder / "run", data)
            export(pipeline, folder / "export", data["val"])
            made[name] = pipeline, runtime.load(folder / "export"), data["test"]
        return made[name]

    return get


@pytest.mark.parametrize("name", list(CASES))
def test_the_runtime_predicts_as_pytorch_does(trained, name):
    pipeline, exported, held_out = trained(name)
    inputs, records = CASES[name].inputs(pipeline, held_out)
    expected = list(pipeline.task.prediction_rows(pipeline, records))
    assert "predict" in exported.verbs
    same(exported.predict(inputs), expected)


@pytest.mark.parametrize(
    "name,text,message",
    [
        ("relation", "no markers here", "mark both entities once each"),
        ("kgqa", "who is the wife of nobody", "names no entity of the knowledge base"),
        ("link", "no_such_entity _hypernym", "entity 'no_such_entity' of query 1 was never seen"),
        ("link", "a query of three words", "should be 'HEAD RELATION'"),
        ("extract", "   ", "document 1 has no sentences"),
    ],
)
def test_the_runtime_refuses_what_the_task_refuses(trained, name, text, message):
    _, exported, _ = trained(name)
    with pytest.raises(UserError, match=message):
        exported.predict([text])


def test_a_values_model_names_the_shape_it_reads(trained):
    _, exported, _ = trained("series-classify")
    with pytest.raises(UserError, match=r"series 1 is not steps \(T, 12\)"):
        exported.predict([np.zeros((5, 3))])


def test_the_runtime_predicts_without_torch(trained):
    """A process that cannot import torch answers questions over a knowledge base, classifies DNA,
    captions image files and says where walkers go next."""
    from conftest import shared, without_torch

    (_, kgqa, questions), (_, dna, _), (_, captioner, images), (_, walks, _) = (
        trained(name) for name in ("kgqa", "dna-classify", "caption", "trajectory")
    )
    scene = shared("eth-ucy", "zara1", "test", "crowds_zara01.txt")
    topic, label, path, step = without_torch(
        f"print(runtime.load({str(kgqa.path)!r}).predict([{questions[0]['question']!r}])[0]['topic'])",
        f"print(runtime.load({str(dna.path)!r}).predict(['ACGTTGCA' * 7])[0]['label'])",
        f"print(runtime.load({str(captioner.path)!r}).predict([{images[0]['image']!r}])[0]['path'])",
        f"print(runtime.load({str(walks.path)!r}).predict([{str(scene)!r}])[0]['step'])",
    )
    assert topic == questions[0]["topic"] and label in dna.labels and path == images[0]["image"]
    assert step == "1"


def test_the_runtime_draws_as_pytorch_does(digits, tmp_path):
    """An image model's step graphs carry its state from pixel to pixel: greedy drawing from the export
    gives the pixels a greedy loop over the PyTorch model's whole prefix gives; sampled drawings are
    images of the run's size and grey levels."""
    import torch
    from conftest import tiny

    from seqlab.data.batch import Batch
    from seqlab.export import export

    config = tiny("lm", "transformer", **{"data.input": "image", "data.levels": 5})
    pipeline = fit(config, tmp_path / "run", digits)
    export(pipeline, tmp_path / "export", digits["val"])
    exported = runtime.load(tmp_path / "export")
    assert "draw" in exported.verbs
    start = pipeline.task.start_token("3")
    greedy = exported.tokens(np.array([[start]]), runtime.Sampling(max_new_tokens=64, temperature=0))
    seen = torch.tensor([[start]])
    with torch.no_grad():
        for _ in range(64):
            logits = pipeline.model(Batch(inputs=seen, mask=torch.ones_like(seen, dtype=torch.bool))).logits
            seen = torch.cat([seen, logits[:, -1].argmax(-1, keepdim=True)], dim=1)
    assert greedy[0].tolist() == seen[0, 1:].tolist()
    drawn = exported.draw("3", count=2, seed=0)
    assert drawn.shape == (2, 8, 8) and set(np.unique(drawn * 4).tolist()) <= {0.0, 1.0, 2.0, 3.0, 4.0}
    with pytest.raises(UserError, match="class 'x' is not one"):
        exported.draw("x")


@pytest.mark.parametrize("encoder,nade", [("gru", 0), ("transformer", 0), ("lstm", 6)])
def test_the_runtime_composes_as_pytorch_does(chorales, tmp_path, encoder, nade):
    """A piano-roll model's step graphs carry its state from frame to frame and its frame graph draws as
    its head does: given the same uniform draws, the export composes PyTorch's roll (a NADE's pitch by
    pitch too)."""
    import torch
    from conftest import tiny

    from seqlab.data.batch import Batch
    from seqlab.export import export

    settings = {"data.input": "music", "model.bidirectional": False, "model.nade_hidden": nade}
    pipeline = fit(tiny("lm", encoder, **settings), tmp_path / "run", chorales)
    export(pipeline, tmp_path / "export", chorales["val"])
    exported = runtime.load(tmp_path / "export")
    assert "compose" in exported.verbs
    roll = exported.compose([60, 64, 67], 12, seed=3)  # (13, P)
    random, model = np.random.default_rng(3), pipeline.model
    feed, state, frames = torch.from_numpy(roll[:1])[None], None, [roll[0]]
    with torch.no_grad():
        for _ in range(12):
            encoded = model.encode(
                Batch(inputs=feed, mask=torch.ones(feed.shape[:2], dtype=torch.bool)), state
            )
            uniforms = torch.from_numpy(random.random((1, roll.shape[1]), dtype=np.float32))
            feed, state = model.head.frame(encoded.hidden[:, -1], uniforms)[:, None], encoded.state
            frames.append(feed[0, 0].numpy())
    assert roll.tolist() == np.stack(frames).tolist()
    with pytest.raises(UserError, match="the first frame"):
        exported.compose([200], 4)
    if encoder == "transformer":  # its positions are data.max_length
        for compose in (exported.compose, pipeline.compose):
            with pytest.raises(UserError, match="compose at most 511"):
                compose([60], 600)


def test_the_runtime_classifies_audio_files_as_pytorch_does(fsdd, tmp_path):
    """A spoken-digit classifier: WAV files heard by the runtime (soundfile and librosa, frames as the run
    computes them) give PyTorch's labels and probabilities, each row naming its file."""
    from conftest import RATE, tiny

    from seqlab.data.audio import Utterance
    from seqlab.export import export

    clips = sorted((fsdd / "recordings").glob("*.wav"))
    records = [{"audio": Utterance((str(clip),)), "label": clip.name[0]} for clip in clips]
    data = {"train": records[::2], "val": records[1::4], "test": records[3::12]}
    config = tiny("classify", "gru", **{"data.input": "audio", "data.sample_rate": RATE})
    pipeline = fit(config, tmp_path / "run", data)
    export(pipeline, tmp_path / "export", data["val"])
    files = [record["audio"].clips[0] for record in data["test"]]
    expected = list(pipeline.task.prediction_rows(pipeline, [{"audio": Utterance((f,))} for f in files]))
    got = runtime.load(tmp_path / "export").predict(files)
    same(got, expected)
    assert [row["path"] for row in got] == files
