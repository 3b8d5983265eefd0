import json

import nbformat
import pytest

from tne_eval import __version__
from tne_eval.cli import build_parser, main


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert __version__ in capsys.readouterr().out


def test_subcommands_registered():
    parser = build_parser()
    args = parser.parse_args(["report", "--out", "x"])
    assert args.command == "report" and args.out == "x"
    args = parser.parse_args(["simulate", "--out", "y"])
    assert args.command == "simulate"


def test_missing_subcommand():
    with pytest.raises(SystemExit) as exc:
        main([])
    assert exc.value.code == 2


@pytest.mark.notebooks
def test_report_checks_committed_key_numbers(tmp_path, capsys):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "from tne_eval.reporting import publish_key_numbers\n"
            "publish_key_numbers({'answer': 42})"
        )
    ]
    nbformat.write(nb, tmp_path / "demo.ipynb")
    (tmp_path / "key_numbers.json").write_text(json.dumps({"demo": {"answer": 42}}))
    assert (
        main(["report", "--notebooks", str(tmp_path), "--out", str(tmp_path / "r")])
        == 0
    )
    assert "Every key number matches" in capsys.readouterr().out
    (tmp_path / "key_numbers.json").write_text(json.dumps({"demo": {"answer": 41}}))
    assert (
        main(["report", "--notebooks", str(tmp_path), "--out", str(tmp_path / "r")])
        == 1
    )
    assert "answer: fresh 42 != committed 41" in capsys.readouterr().err
