"""``tne-eval simulate``: the sub-command and its handler."""

from __future__ import annotations

import argparse

import pytest

from tne_eval.datasets import _cli, load_synthetic
from tne_eval.datasets import config as config_module
from tne_eval.datasets.io import read_manifest


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="tne-eval")
    _cli.register(top.add_subparsers(dest="command", required=True))
    return top


def test_register_adds_simulate_with_its_options():
    args = parser().parse_args(["simulate", "--out", "somewhere"])
    assert args.handler is _cli.handler
    assert (args.scale, args.seed, args.out) == ("default", 20200901, "somewhere")
    args = parser().parse_args(
        ["simulate", "--scale", "national", "--seed", "3", "--out", "x"]
    )
    assert (args.scale, args.seed) == ("national", 3)


def test_unknown_scale_is_rejected(capsys):
    with pytest.raises(SystemExit):
        parser().parse_args(["simulate", "--scale", "huge", "--out", "x"])
    assert "invalid choice: 'huge'" in capsys.readouterr().err


def test_out_is_required(capsys):
    with pytest.raises(SystemExit):
        parser().parse_args(["simulate"])
    assert "--out" in capsys.readouterr().err


def test_handler_writes_a_world(tmp_path, monkeypatch, capsys):
    tiny = {"departments": ("02", "95", "01"), "n_primary": 12, "n_college": 6}
    monkeypatch.setitem(config_module._PRESETS, "tiny", tiny)
    args = parser().parse_args(
        ["simulate", "--scale", "tiny", "--seed", "11", "--out", str(tmp_path)]
    )
    assert args.handler(args) == 0
    out = capsys.readouterr().out
    assert out.startswith("Wrote the tiny synthetic world (seed 11)")
    manifest = read_manifest(tmp_path)
    assert manifest["seed"] == 11
    assert manifest["config"]["departments"] == ["02", "95", "01"]
    assert len(load_synthetic("schools", path=tmp_path)) == 18
