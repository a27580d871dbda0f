"""Tasks: what turns records into batches and model outputs into predictions and metrics.

The model is the same for every task; a task owns the data side: its vocabularies (tokenizer,
label map, scaling), how records become `Batch`es, how outputs become predictions, and which
metrics judge them. What it learns from the data is saved to and loaded from the run directory.
"""

from seqlab.tasks.anomaly import AnomalyTask, Detector, Likelihood
from seqlab.tasks.base import Task
from seqlab.tasks.extract import ExtractTask
from seqlab.tasks.forecast import ForecastTask
from seqlab.tasks.music import PianoRollTask
from seqlab.tasks.seq2seq import Seq2SeqTask
from seqlab.tasks.series import SeriesClassifyTask
from seqlab.tasks.speech import CTCTask
from seqlab.tasks.text import ClassifyTask, LMTask, TagTask

TASKS: dict[str, type[Task]] = {"classify": ClassifyTask, "tag": TagTask, "lm": LMTask, "seq2seq": Seq2SeqTask,
                                "extract": ExtractTask, "forecast": ForecastTask, "anomaly": AnomalyTask, "ctc": CTCTask}


def task_type(config) -> type[Task]:
    """The task class of a run: its task name and what its input is (text, numbers, audio, a piano roll)."""
    if config.task == "classify" and config.data.input in ("series", "audio"):
        return SeriesClassifyTask
    if config.task == "lm" and config.data.input == "music":
        return PianoRollTask
    return TASKS[config.task]


__all__ = ["TASKS", "AnomalyTask", "CTCTask", "ClassifyTask", "Detector", "ExtractTask", "ForecastTask", "LMTask", "Likelihood", "PianoRollTask", "Seq2SeqTask", "SeriesClassifyTask", "TagTask", "Task", "task_type"]
