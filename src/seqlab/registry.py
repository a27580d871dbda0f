"""Registries: where seqlab looks up each of its three axes, tasks, encoders and inputs, by name.

A registry maps a name to a part. seqlab's own parts are named by import path ("module:attribute")
and imported on first use, so listing names (the CLI's choices, `--help`) imports no torch. Parts of
other installed packages join through Python entry points in the registry's group, declared in their
`pyproject.toml`:

    [project.entry-points."seqlab.encoders"]
    wavenet = "my_package.wavenet:WAVENET"

No code outside a part's own module and its registry compares a part's name: callers ask the part.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Iterator
from functools import cached_property
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Generic, TypeVar

from seqlab.errors import UserError

if TYPE_CHECKING:
    from seqlab.data.inputs import InputKind
    from seqlab.encoders import EncoderSpec
    from seqlab.tasks.base import Task

T = TypeVar("T")


def load_path(path: str):
    """The object an import path "module:attribute" names."""
    module, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module), attribute)


class Registry(Generic[T]):
    """Named parts of one kind: seqlab's own, then those of the entry-point group `group`."""

    def __init__(self, group: str, kind: str, builtin: dict[str, str]):
        self.group = group
        self.kind = kind  # what a part is called in messages: "task", "encoder", "input"
        self._builtin = builtin
        self._loaded: dict[str, T] = {}

    @cached_property
    def _paths(self) -> dict[str, str]:
        """Every name and the import path of its part; seqlab's own names win over a plug-in's."""
        plugins = {ep.name: ep.value for ep in entry_points(group=self.group) if ep.name not in self._builtin}
        return {**self._builtin, **plugins}

    def names(self) -> tuple[str, ...]:
        return tuple(self._paths)

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def __contains__(self, name: object) -> bool:
        return name in self._paths

    def __getitem__(self, name: str) -> T:
        if name not in self._loaded:
            if name not in self._paths:
                raise UserError(
                    f"unknown {self.kind} '{name}'{self._suggest(name)}; choose from {', '.join(self._paths)}"
                )
            self._loaded[name] = load_path(self._paths[name])
        return self._loaded[name]

    def items(self) -> Iterator[tuple[str, T]]:
        for name in self._paths:
            yield name, self[name]

    def _suggest(self, name: str) -> str:
        close = difflib.get_close_matches(name, list(self._paths), n=1)
        return f" (did you mean '{close[0]}'?)" if close else ""


TASKS: Registry[type[Task]] = Registry(
    "seqlab.tasks",
    "task",
    {
        "classify": "seqlab.tasks.text:ClassifyTask",
        "tag": "seqlab.tasks.text:TagTask",
        "lm": "seqlab.tasks.text:LMTask",
        "seq2seq": "seqlab.tasks.seq2seq:Seq2SeqTask",
        "extract": "seqlab.tasks.extract:ExtractTask",
        "forecast": "seqlab.tasks.forecast:ForecastTask",
        "anomaly": "seqlab.tasks.anomaly:AnomalyTask",
        "ctc": "seqlab.tasks.speech:CTCTask",
        "relation": "seqlab.tasks.relation:RelationTask",
        "kgqa": "seqlab.tasks.kgqa:KGQATask",
        "link": "seqlab.tasks.link:LinkTask",
        "trajectory": "seqlab.tasks.trajectory:TrajectoryTask",
        "tts": "seqlab.tasks.tts:TTSTask",
    },
)
ENCODERS: Registry[EncoderSpec] = Registry(
    "seqlab.encoders",
    "encoder",
    {
        "rnn": "seqlab.encoders.recurrent:RNN",
        "lstm": "seqlab.encoders.recurrent:LSTM",
        "gru": "seqlab.encoders.recurrent:GRU",
        "transformer": "seqlab.encoders.transformer:TRANSFORMER",
        "tcn": "seqlab.encoders.tcn:TCN",
    },
)
INPUTS: Registry[InputKind] = Registry(
    "seqlab.inputs",
    "input",
    {
        "text": "seqlab.data.text:TEXT",
        "series": "seqlab.data.series:SERIES",
        "dna": "seqlab.data.dna:DNA",
        "protein": "seqlab.data.protein:PROTEIN",
        "music": "seqlab.data.music:MUSIC",
        "melody": "seqlab.data.music:MELODY",
        "audio": "seqlab.data.audio:AUDIO",
        "image": "seqlab.data.images:IMAGE",
    },
)
