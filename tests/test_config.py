from __future__ import annotations

import pytest

from seqlab.config import RunConfig, load_config
from seqlab.errors import UserError


def test_layers_defaults_then_yaml_then_overrides_then_values(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("task: tag\nmodel:\n  encoder: gru\n  hidden_size: 64\ntrain:\n  lr: 0.01\n")
    config = load_config(path, ["model.hidden_size=32", "lr=3e-4"], **{"train.epochs": 2})
    assert (config.task, config.model.encoder, config.model.hidden_size) == ("tag", "gru", 32)
    assert config.train.lr == pytest.approx(3e-4) and config.train.epochs == 2
    assert config.model.embed_dim == RunConfig().model.embed_dim


def test_task_dependent_defaults_are_filled():
    assert load_config(task="lm").data.tokenizer == "char"
    assert load_config(task="lm").model.bidirectional is False
    assert load_config(task="classify").model.bidirectional is True
    assert load_config(task="tag").data.tokenizer == "word"


def test_round_trip_through_yaml():
    import yaml

    config = load_config(None, ["model.crf=true", "train.max_minutes=1.5"], task="tag")
    again = RunConfig.from_dict(yaml.safe_load(config.to_yaml()))
    assert again == config


@pytest.mark.parametrize(
    "override,message",
    [
        ("model.hiden_size=3", "unknown config key 'model.hiden_size' (did you mean 'model.hidden_size'?)"),
        ("train.lr=fast", "config key 'train.lr' expects float, got 'fast'"),
        ("model.encoder=lstmm", "model.encoder must be one of rnn, lstm, gru, transformer, tcn; got 'lstmm'"),
        ("model.num_layers=0", "model.num_layers must be at least 1; got 0"),
        ("hidden", "expected key=value, got 'hidden'"),
    ],
)
def test_bad_overrides_name_the_key(override, message):
    with pytest.raises(UserError) as error:
        load_config(None, [override])
    assert str(error.value) == message


def test_impossible_combinations_are_refused():
    with pytest.raises(UserError, match="bidirectional"):
        load_config(None, ["model.bidirectional=true"], task="lm")
    with pytest.raises(UserError, match="tokenizer=word"):
        load_config(None, ["data.tokenizer=bpe"], task="tag")
    with pytest.raises(UserError, match="divisible"):
        load_config(None, ["model.encoder=transformer", "model.hidden_size=10", "model.num_heads=4"])


def test_yaml_errors(tmp_path):
    with pytest.raises(UserError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [unclosed\n")
    with pytest.raises(UserError, match="not valid YAML"):
        load_config(bad)
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("model:\n  layers: 2\n")
    with pytest.raises(UserError, match="unknown config key 'model.layers'"):
        load_config(unknown)
