"""Tasks: what turns records into batches and model outputs into predictions and metrics.

The model is the same for every task; a task owns the data side: its vocabularies (tokenizer,
label map, scaling), how records become `Batch`es, how outputs become predictions, and which
metrics judge them. What it learns from the data is saved to and loaded from the run directory.
"""

from seqlab.tasks.base import Task
from seqlab.tasks.forecast import ForecastTask
from seqlab.tasks.text import ClassifyTask, LMTask, TagTask

TASKS: dict[str, type[Task]] = {"classify": ClassifyTask, "tag": TagTask, "lm": LMTask, "forecast": ForecastTask}

__all__ = ["TASKS", "ClassifyTask", "ForecastTask", "LMTask", "TagTask", "Task"]
