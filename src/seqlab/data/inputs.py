"""The `InputKind` contract: what seqlab may know about a kind of input (text, numbers, audio, DNA,
piano rolls …). Each kind lives in its own module (`data/text.py`, `data/series.py`, …, or a
plug-in's), registered by name in `seqlab.registry.INPUTS` and chosen by `data.input`.

A kind reads its files into records of the shapes it knows, readies records for a model (audio into
frames, DNA cleaned), and says what it brings to a task: its tokenizers, a task class of its own where
the task's needs one (numbers classified by `SeriesClassifyTask`), how generated samples are written.

Records come in shapes that a task declares it reads (`Task.records`):
  "labelled"     {"text" | "values" | "audio", "label"}   one label per sequence
  "tagged"       {"tokens", "tags"}                        one tag per word
  "stream"       running text (one string), or pieces      what a language model continues
  "pairs"        {"source", "target"}                      a source and the sequence it becomes
  "series"       `Series`                                  numbers in time
  "transcribed"  {"audio", "text"}                         speech and what it says
  "relations"    {"tokens", "e1", "e2", "label"}           two entities in a sentence and their relation
  "questions"    {"question", "topic", "relations", …}     a question and its path through a knowledge base
  "triples"      {"head", "relation", "tail"}             a link of a knowledge graph
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Reader = Callable[[str, Path, Any, bool], list]  # (records shape, path, data settings, labelled) → records


@dataclass(frozen=True)
class InputKind:
    name: str
    read: Reader | None = None  # None: the task reads the files itself (plain text, tables)
    reads: tuple[str, ...] = ()  # the record shapes `read` makes; other tasks read the files themselves
    detect: Callable[[Path, Any], bool] | None = None  # with data.input=auto: (path, data settings) → a path
    # this kind recognises
    holds: Callable[[list], bool] | None = None  # with data.input=auto, records this kind made
    tokenizers: tuple[str, ...] = ()  # the data.tokenizer values that read it; the first is its default
    tasks: dict[str, str] = field(default_factory=dict)  # task name → "module:Class": the task's own class
    # for this input, where it needs one
    folders: bool = False  # a folder is one set of the kind's files (clips, MIDI files), not split files
    split_file: Callable[[Path], dict[str, list] | None] | None = None  # one file that holds its splits
    layout_splits: Callable[[Path, str], dict[str, list] | None] | None = None  # (path, records shape) → the
    # splits of a folder layout that holds them all, as records of that shape; None for other paths
    prepare: Callable[[list, Any], list] | None = None  # (records, data settings) → what a model reads
    pretokenized: bool = False  # its text is tokens between spaces, to be read whole (melody events)
    reverse: Callable[[str], str] | None = None  # the sequence read from its other end (DNA's reverse
    # complement), for data.reverse_complement and data.strand_symmetric
    stacked: bool = False  # `prepare` already joins data.stack_frames frames into each step
    words: Callable[[str], list[str]] = str.split  # the words of a typed text, to be tagged
    start: str = "\n"  # what a generated sample follows when the prompt is empty
    write: Callable[[list[str], Path], None] | None = None  # generated samples into a file
    suffixes: tuple[str, ...] = ()  # what `write` writes; empty: any file name
    settings: type | None = None  # a dataclass of the kind's own `data.` keys


def kind_of(data) -> InputKind:
    """The input kind of a run's data settings; plain text where the data left it to be found (auto)."""
    from seqlab.registry import INPUTS

    return INPUTS["text" if data.input == "auto" else data.input]
