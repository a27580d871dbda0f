"""The commands and code shown in README.md run as written (training capped at a few steps)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path


from conftest import shared

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```(bash|python)\n(.*?)```", README.read_text(), flags=re.S)


def _commands() -> list[str]:
    lines = [l.split("  #")[0].strip() for kind, body in BLOCKS if kind == "bash" for l in body.splitlines()]
    return [l for l in lines if l.startswith("seqlab ") and not l.startswith("seqlab demo")]


def test_readme_commands_run(tmp_path, monkeypatch, capsys):
    from seqlab.cli import main

    for name in ("sms-spam-collection", "conll2003", "tinyshakespeare", "sst2", "ETT", "m4"):
        shared(name)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "configs").symlink_to(README.parent / "configs")
    commands = _commands()
    assert len(commands) >= 10
    for command in commands:
        args = shlex.split(command)[1:]
        if args[0] == "train":
            args += ["train.max_steps=2", "train.eval_every=2"]
            if "--resume" in args:
                args[args.index("train.max_steps=2")] = "train.max_steps=3"
        code = main(args)
        assert code == 0, f"{command}: {capsys.readouterr().err}"


def test_readme_python_runs(tmp_path, monkeypatch):
    for name in ("sms-spam-collection", "conll2003", "tinyshakespeare"):
        shared(name)
    monkeypatch.chdir(tmp_path)
    code = "\n".join(body for kind, body in BLOCKS if kind == "python")
    exec(compile(code, str(README), "exec"), {})
