"""Every reader, fed what hypothesis makes up: it loads, or it refuses with one line (a UserError), never
anything else. The run directory too, a file of it at a time."""

from __future__ import annotations

import io
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from conftest import tiny
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seqlab.config import load_config
from seqlab.errors import UserError

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _loads_or_refuses(read, content: bytes, suffix: str):
    """Write `content` to a file named *suffix and read it with `read(path)`."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"data{suffix}"
        path.write_bytes(content)
        try:
            read(path)
        except UserError as exc:
            assert "\n" not in str(exc) and str(exc), repr(str(exc))


def _texts(alphabet: str, heads: tuple[bytes, ...] = (b"",)) -> st.SearchStrategy[bytes]:
    """Text made of `alphabet` after one of `heads`, or bytes of any kind."""
    text = st.tuples(st.sampled_from(heads), st.text(alphabet=alphabet, max_size=300).map(str.encode))
    return st.one_of(text.map(b"".join), st.binary(max_size=300))


def _spliced(valid: bytes) -> st.SearchStrategy[bytes]:
    """`valid` with a stretch of it replaced by made-up bytes, or cut short."""
    cut = st.integers(0, len(valid))
    replaced = st.tuples(cut, st.integers(0, 64), st.binary(max_size=64)).map(
        lambda t: valid[: t[0]] + t[2] + valid[t[0] + t[1] :]
    )
    return st.one_of(replaced, cut.map(lambda n: valid[:n]))


def _records(task: str, **data):
    from seqlab.data.splits import read_records

    config = load_config(None, task=task, **{f"data.{k}": v for k, v in data.items()})
    return lambda path: read_records(task, path, config.data)


TABLE = "ab ,\t\n\r\"'{}[]:01.-e\\" + "é€"


@FUZZ
@given(_texts(TABLE, (b"", b"text,label\n", b"text\tlabel\n", b'{"text": "a", "label": "b"}\n')))
def test_tables(content):
    for suffix in (".csv", ".tsv", ".jsonl"):
        _loads_or_refuses(_records("classify"), content, suffix)


@FUZZ
@given(_texts("EU O B-ORG \t\n-DOCSTART-", (b"", b"EU B-ORG\n")))
def test_conll(content):
    _loads_or_refuses(_records("tag"), content, ".conll")


@FUZZ
@given(_texts("ab ,\n0123456789.-:", (b"unique_id,ds,y\n", b"date,OT\n", b"")))
def test_series(content):
    _loads_or_refuses(_records("forecast"), content, ".csv")


@FUZZ
@given(_texts("0123456789 .-,\tnaNIf\n", (b"", b"1 0.5 0.25\n")))
def test_ucr_series(content):
    _loads_or_refuses(_records("classify", format="ucr"), content, ".txt")


@FUZZ
@given(_texts(">@+ACGTNRYacgt!I\n", (b">s1\n", b"@r\n", b"")))
def test_dna(content):
    for suffix in (".fa", ".fastq", ".gb"):
        _loads_or_refuses(_records("lm", input="dna"), content, suffix)


@FUZZ
@given(_texts(">MKVLAGHECX1BZ\n,sequence,dssp3,mask", (b">p\n", b"sequence,dssp3\n")))
def test_proteins(content):
    _loads_or_refuses(_records("tag", input="protein"), content, ".fasta")
    _loads_or_refuses(_records("tag", input="protein"), content, ".csv")


@FUZZ
@given(_texts("0123456789 .\n-", (b"", b"10 1 0.5 0.5\n")))
def test_trajectories(content):
    _loads_or_refuses(_records("trajectory"), content, ".txt")


@FUZZ
@given(_texts("ab\t\n_ ", (b"", b"a\tb\tc\n")))
def test_triples(content):
    _loads_or_refuses(_records("link"), content, ".tsv")


def _wav() -> bytes:
    import soundfile

    buffer = io.BytesIO()
    soundfile.write(buffer, np.sin(np.arange(800) / 10).astype(np.float32), 8000, format="WAV")
    return buffer.getvalue()


@FUZZ
@given(_spliced(_wav()))
def test_wav(content):
    from seqlab.data.audio import read_audio

    _loads_or_refuses(lambda path: read_audio(path, 8000), content, ".wav")


def _midi() -> bytes:
    import pretty_midi

    midi = pretty_midi.PrettyMIDI()
    piano = pretty_midi.Instrument(program=0)
    piano.notes += [
        pretty_midi.Note(90, pitch, start / 2, start / 2 + 0.5) for start, pitch in enumerate((60, 64, 67))
    ]
    midi.instruments.append(piano)
    buffer = io.BytesIO()
    midi.write(buffer)
    return buffer.getvalue()


@FUZZ
@given(_spliced(_midi()))
def test_midi(content):
    _loads_or_refuses(_records("lm"), content, ".mid")


def _png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.arange(64, dtype=np.uint8).reshape(8, 8)).save(buffer, format="PNG")
    return buffer.getvalue()


@FUZZ
@given(_spliced(_png()))
def test_images(content):
    from seqlab.data.images import read_image

    _loads_or_refuses(read_image, content, ".png")


# -- the run directory ---------------------------------------------------------------------------------

RUN_FILES = ("model.safetensors", "config.yaml", "meta.json", "tokenizer.json", "labels.json")


@pytest.fixture(scope="module")
def run(tmp_path_factory, spam_splits) -> Path:
    from seqlab.pipeline import fit

    out = tmp_path_factory.mktemp("fuzzed") / "run"
    fit(tiny("classify", "gru", **{"train.max_steps": 1}), out, spam_splits)
    return out


@FUZZ
@given(name=st.sampled_from(RUN_FILES), data=st.data())
def test_run_directory(run, name, data):
    from seqlab.pipeline import load

    content = data.draw(st.one_of(_spliced((run / name).read_bytes()), st.binary(max_size=200)))
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "run"
        shutil.copytree(run, copy)
        (copy / name).write_bytes(content)
        try:
            load(copy).predict([{"text": "win a prize now"}])
        except UserError as exc:
            assert "\n" not in str(exc), repr(str(exc))
