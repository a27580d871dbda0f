"""The budget rule: a run with a time budget (`train.max_minutes`) takes its size, learning rate,
schedule and batch from the budget and the data, for every such key its user left unset.

As nanoGPT's configs size a model for the minutes a laptop has, a short budget wants a small model
that takes many steps at a high learning rate, without dropout (it cannot overfit in the time); a
long one a wider, deeper model with dropout. The task owns its values (`Task.budget_settings`); the
rule only decides which ones a run takes, and the run's meta.json and report say which it took.
"""

from __future__ import annotations

from typing import Any

from seqlab.config import RunConfig
from seqlab.registry import ENCODERS

SHORT_MINUTES = 5.0  # budgets up to this many minutes are short
UNBOUNDED_EPOCHS = 10_000  # the time budget ends training, not a count of epochs


def applies(config: RunConfig) -> bool:
    """Whether the rule sets this run's unset keys: it has a time budget (a steps budget may cap it)."""
    return config.train.max_minutes is not None


def budget_settings(config: RunConfig) -> dict[str, Any]:
    """The rule's values for this run's task, input kind, encoder family and budget."""
    short = config.train.max_minutes is not None and config.train.max_minutes <= SHORT_MINUTES
    recurrent = ENCODERS[config.model.encoder].recurrent
    from seqlab.tasks import task_type

    own = task_type(config).budget_settings(config, short=short, recurrent=recurrent)
    return {"train.epochs": UNBOUNDED_EPOCHS, **own}


def apply_budget_rule(config: RunConfig, earlier: RunConfig | None = None) -> dict[str, Any]:
    """Set the rule's value on every key of it that the user left unset; returns the keys it set.
    `earlier`: the config of the run that this one resumes, whose values those keys keep. Call once the
    input kind is known (`resolve_input`): the values depend on it."""
    if not applies(config):
        return {}
    chosen = {key: value for key, value in budget_settings(config).items() if key not in config.given}
    if earlier is not None:
        chosen = {key: earlier.get(key) for key in chosen}
    for key, value in chosen.items():
        config.set(key, value, parse=False)
    return chosen
