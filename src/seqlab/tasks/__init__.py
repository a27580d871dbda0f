"""Tasks: what turns records into batches and model outputs into predictions and metrics.

The model is the same for every task; a task owns what is particular to it: its settings, the files
it reads, its vocabularies (tokenizer, label map, scaling), the adapter and head it builds around any
encoder, how records become `Batch`es and outputs become predictions, its verbs and its metrics. What
it learns from the data is saved to and loaded from the run directory. `seqlab.registry.TASKS` names
every task.
"""

from seqlab.data.anomalies import Likelihood
from seqlab.registry import INPUTS, TASKS, load_path
from seqlab.tasks.anomaly import AnomalyTask, Detector
from seqlab.tasks.base import Task
from seqlab.tasks.extract import ExtractTask
from seqlab.tasks.forecast import ForecastTask
from seqlab.tasks.music import PianoRollTask
from seqlab.tasks.seq2seq import Seq2SeqTask
from seqlab.tasks.series import SeriesClassifyTask
from seqlab.tasks.speech import CTCTask
from seqlab.tasks.text import ClassifyTask, LMTask, TagTask


def task_type(config) -> type[Task]:
    """The task class of a run: the registered task, or the class its input kind brings for it (numbers
    and audio classified by `SeriesClassifyTask`, piano rolls modelled by `PianoRollTask`)."""
    own = INPUTS[config.data.input].tasks.get(config.task) if config.data.input != "auto" else None
    return load_path(own) if own else TASKS[config.task]


__all__ = [
    "AnomalyTask",
    "CTCTask",
    "ClassifyTask",
    "Detector",
    "ExtractTask",
    "ForecastTask",
    "LMTask",
    "Likelihood",
    "PianoRollTask",
    "Seq2SeqTask",
    "SeriesClassifyTask",
    "TagTask",
    "Task",
    "task_type",
]
