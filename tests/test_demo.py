"""The tour: every stop's model beats its naive baseline on the same examples, or the tour fails loudly."""

from __future__ import annotations

import json
from dataclasses import replace

from seqlab import budget, demo

QUICK_STEPS = {"text generation": 150, "sentiment": 150, "electricity forecast": 150, "spoken digits": 100}
# the stops that beat their baselines by far in fewer steps than the tour's 300: at these, a loss of 2.42
# against the baseline's 3.14, accuracy 0.76 against 0.66, MASE 0.60 against 0.81, accuracy 0.85 against
# 0.10; the chorales' 10.70 against 11.09 take all 300


def test_the_quick_tour_beats_every_baseline(tmp_path, capsys, monkeypatch):
    """At most 300 steps a stop (fewer where QUICK_STEPS says), each model sized by the budget rule as for
    a short budget, with budgets so long that the steps end every stop however busy the machine: every
    stop learns more than its baseline (run_demo raises DemoFailed otherwise). The closing comparison of
    encoders, which no baseline judges (tests/test_compare.py checks it), runs one seed an encoder on 40%
    of its budget."""
    unbounded = 1000  # times the tour's budgets, each still short to the budget rule
    monkeypatch.setattr(budget, "SHORT_MINUTES", budget.SHORT_MINUTES * unbounded)
    monkeypatch.setattr(demo, "TOUR", [_quick(stop) for stop in demo.TOUR])
    task, dataset, settings, _, minutes = demo.COMPARE
    monkeypatch.setattr(demo, "COMPARE", (task, dataset, settings, 1, minutes * 0.4 / unbounded))
    rows = demo.run_demo(tmp_path / "demo", scale=unbounded, steps=300)
    assert {"text generation", "sentiment", "electricity forecast"} <= {row["name"] for row in rows}
    assert all(row["beats_baseline"] for row in rows), [
        (r["name"], r["metrics"], r["baseline"]) for r in rows
    ]
    saved = json.loads((tmp_path / "demo" / "results.json").read_text())
    assert saved["seconds"] > 0 and len(saved["stops"]) == len(rows)
    assert "beats the baseline" in capsys.readouterr().out


def _quick(stop: demo.Stop) -> demo.Stop:
    if stop.name not in QUICK_STEPS:
        return stop
    steps = QUICK_STEPS[stop.name]
    return replace(stop, settings={**stop.settings, "train.max_steps": steps, "train.eval_every": steps})


def test_a_stop_that_learns_nothing_fails_the_tour(tmp_path, monkeypatch, capsys):
    from seqlab.cli import main

    stop = demo.Stop("power", "classify", "italy-power-demand", "gru", 0.05, {"train.max_steps": 5})
    monkeypatch.setattr(demo, "TOUR", [stop])
    monkeypatch.setattr(demo, "COMPARE", ("classify", "no-such-set", {}, 1, 0.01))
    monkeypatch.setattr(demo, "beats", lambda metrics, baseline: False)
    assert main(["demo", "--out", str(tmp_path / "demo"), "--scale", "1"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == "seqlab demo: no better than its naive baseline: power"
