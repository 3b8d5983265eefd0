import json
import re
import subprocess
import sys

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
    args = parser.parse_args(["reproduce", "--check"])
    assert args.command == "reproduce" and args.check and not args.update


@pytest.mark.notebooks
def test_reproduce_check_prints_a_readable_diff_and_fails(tmp_path, capsys):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("seed = 1", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(
            "from tne_eval.reporting import publish_key_numbers\n"
            "publish_key_numbers({'att.estimate': 1.5 + seed, 'att.inference': 'cluster'})"
        ),
    ]
    nbformat.write(nb, tmp_path / "demo.ipynb")
    argv = ["reproduce", "--notebooks", str(tmp_path), "--quiet"]
    assert main([*argv, "--check"]) == 2  # no manifest yet: usage error
    assert "no committed manifest" in capsys.readouterr().err
    assert main([*argv, "--update"]) == 0
    manifest = json.loads((tmp_path / "key_numbers.json").read_text())
    assert manifest["chapters"]["demo"]["att.estimate"] == 2021 + 1.5  # seed injected
    capsys.readouterr()
    assert main([*argv, "--check"]) == 0
    assert "Reproduced: the 2 numbers" in capsys.readouterr().out
    manifest["chapters"]["demo"]["att.estimate"] = 2023.0
    manifest["versions"]["numpy"] = "0.0"
    (tmp_path / "key_numbers.json").write_text(json.dumps(manifest))
    assert main([*argv, "--check"]) == 1
    captured = capsys.readouterr()
    assert "1 difference(s) among 2 committed numbers" in captured.err
    assert "  - demo: att.estimate: fresh 2022.5 != committed 2023.0" in captured.err
    assert "note: library version differs: numpy" in captured.out


@pytest.mark.notebooks
def test_reproduce_check_fails_when_a_chapter_option_changed(tmp_path, capsys):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("seed = 1", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(
            "from tne_eval.reporting.key_numbers import (\n"
            "    publish_chapter_parameters, publish_key_numbers)\n"
            "reps = 99\n"
            "publish_chapter_parameters({'placebo_reps': reps})\n"
            "publish_key_numbers({'answer': 42})"
        ),
    ]
    nbformat.write(nb, tmp_path / "demo.ipynb")
    argv = ["reproduce", "--notebooks", str(tmp_path), "--quiet"]
    assert main([*argv, "--update"]) == 0
    manifest = json.loads((tmp_path / "key_numbers.json").read_text())
    assert manifest["parameters"]["chapters"] == {"demo": {"placebo_reps": 99}}
    assert manifest["chapters"] == {"demo": {"answer": 42}}  # not a key number
    nb.cells[1].source = nb.cells[1].source.replace("reps = 99", "reps = 199")
    nbformat.write(nb, tmp_path / "demo.ipynb")
    capsys.readouterr()
    assert main([*argv, "--check"]) == 1  # the same numbers, another option
    assert "parameter chapters: fresh {'demo': {'placebo_reps': 199}}" in (
        capsys.readouterr().err
    )


def test_missing_subcommand():
    with pytest.raises(SystemExit) as exc:
        main([])
    assert exc.value.code == 2


@pytest.mark.notebooks
def test_report_checks_committed_manifest(tmp_path, capsys):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "from tne_eval.reporting import publish_key_numbers\n"
            "publish_key_numbers({'answer': 42})"
        )
    ]
    nbformat.write(nb, tmp_path / "demo.ipynb")
    argv = ["report", "--notebooks", str(tmp_path), "--out", str(tmp_path / "r")]
    assert main([*argv, "--no-pdf", "--update-key-numbers"]) == 0
    manifest = json.loads((tmp_path / "key_numbers.json").read_text())
    assert manifest["chapters"] == {"demo": {"answer": 42}}
    capsys.readouterr()
    assert main([*argv, "--no-pdf"]) == 0
    assert "Reproduced: the 1 numbers" in capsys.readouterr().out
    manifest["chapters"]["demo"]["answer"] = 41
    (tmp_path / "key_numbers.json").write_text(json.dumps(manifest))
    assert main([*argv, "--no-pdf"]) == 1
    assert "demo: answer: fresh 42 != committed 41" in capsys.readouterr().err


# --- python -m tne_eval, error messages, help texts -------------------------


def run_cli(*args, cwd):
    """Run ``python -m tne_eval ARGS`` in ``cwd`` as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "tne_eval", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


def assert_one_line_error(stderr, command):
    # the Jupyter kernel started by `report` may log its own warnings
    # and `report` prints one progress line per chapter ("[1/5] name ...")
    lines = [
        x
        for x in stderr.strip().splitlines()
        if not x.startswith("[IPKernelApp]") and not re.match(r"\[\d+/\d+\] ", x)
    ]
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f"tne-eval {command}: error: ")
    assert "Traceback" not in stderr


def test_python_dash_m_version(tmp_path):
    done = run_cli("--version", cwd=tmp_path)
    assert done.returncode == 0
    assert done.stdout.strip() == __version__


def test_report_outside_the_repository(tmp_path):
    done = run_cli("report", cwd=tmp_path)
    assert done.returncode == 2
    assert_one_line_error(done.stderr, "report")
    assert "no notebook folder 'notebooks'" in done.stderr
    assert "pass --notebooks DIR" in done.stderr
    assert not (tmp_path / "reports").exists()


def test_report_on_a_folder_without_notebooks(tmp_path, capsys):
    (tmp_path / "notebooks").mkdir()
    assert main(["report", "--notebooks", str(tmp_path / "notebooks")]) == 2
    err = capsys.readouterr().err
    assert_one_line_error(err, "report")
    assert "holds no notebook (*.ipynb)" in err


def test_library_errors_become_one_line(tmp_path, monkeypatch, capsys):
    from tne_eval.errors import SpecError
    from tne_eval.reporting import runner

    def fail(*args, **kwargs):
        raise SpecError("something is wrong\nover two lines; fix it like so.")

    monkeypatch.setattr(runner, "run_report", fail)
    nbformat.write(nbformat.v4.new_notebook(), tmp_path / "a.ipynb")
    assert main(["report", "--notebooks", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert_one_line_error(err, "report")
    assert err.strip().endswith("something is wrong over two lines; fix it like so.")


def test_simulate_into_a_file_is_a_usage_error(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert main(["simulate", "--out", str(tmp_path / "file" / "world")]) == 2
    err = capsys.readouterr().err
    assert_one_line_error(err, "simulate")
    assert "is a file" in err


def test_bad_arguments_exit_2_without_traceback(tmp_path):
    done = run_cli("simulate", "--scale", "huge", "--out", "x", cwd=tmp_path)
    assert done.returncode == 2
    assert "invalid choice: 'huge'" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("command", "description", "defaults"),
    [
        (
            "report",
            "Execute every chapter notebook",
            [
                "(default: notebooks)",
                "(default: reports)",
                "(default: 1800)",
                "(default: fr)",
            ],
        ),
        (
            "reproduce",
            "Re-execute every chapter with the parameters recorded",
            ["(default: notebooks)", "(default: 1800)"],
        ),
        (
            "simulate",
            "Generate the synthetic TNE world with known truth",
            ["(default: default)", "(default: 20200901)", "(required, no default)"],
        ),
    ],
)
def test_subcommand_help_has_description_and_defaults(
    command, description, defaults, capsys
):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert description in out
    for default in defaults:
        assert default in out
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for action in sub.choices[command]._actions:
        assert action.help, f"{command} {action.option_strings} has no help text"


@pytest.mark.notebooks
def test_failing_notebook_is_one_line(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("1"), nbformat.v4.new_code_cell("1 / 0")]
    nbformat.write(nb, tmp_path / "broken.ipynb")
    done = run_cli("report", "--notebooks", str(tmp_path), "--out", "r", cwd=tmp_path)
    assert done.returncode == 1
    assert_one_line_error(done.stderr, "report")
    assert "broken.ipynb failed in cell 1" in done.stderr
    assert "ZeroDivisionError" in done.stderr


@pytest.mark.notebooks
def test_update_key_numbers_records_provenance(tmp_path, capsys):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "from tne_eval.reporting import publish_key_numbers\n"
            "publish_key_numbers({'answer': 42})"
        )
    ]
    nbformat.write(nb, tmp_path / "demo.ipynb")
    argv = ["report", "--notebooks", str(tmp_path), "--out", str(tmp_path / "r")]
    assert main([*argv, "--no-pdf", "--update-key-numbers"]) == 0
    assert "review and commit it" in capsys.readouterr().out
    manifest = json.loads((tmp_path / "key_numbers.json").read_text())
    assert manifest["chapters"] == {"demo": {"answer": 42}}
    assert manifest["tolerance"] == {"rtol": 1e-6, "atol": 1e-9}
    assert set(manifest["versions"]) >= {"python", "numpy", "pandas", "scipy"}
    assert manifest["parameters"]["seed"] == 2021
    record = json.loads((tmp_path / "key_numbers.provenance.json").read_text())
    assert record["tne_eval"] == __version__
    assert record["kind"].startswith("regression numbers produced by tne_eval")
    assert record["command"] == "tne-eval " + " ".join(
        [*argv, "--no-pdf", "--update-key-numbers"]
    )
    assert set(record["packages"]) >= {"numpy", "pandas", "scipy"}
    assert record["python"] and record["date"].endswith("+00:00")
    assert record["tolerance"] == {"rtol": 1e-6, "atol": 1e-9}
    assert record["git"] is None or len(record["git"]["commit"]) == 40
    # the report folder holds the same provenance; a plain run then checks the numbers
    assert (tmp_path / "r" / "key_numbers.provenance.json").exists()
    assert main([*argv, "--no-pdf"]) == 0
    assert "Reproduced" in capsys.readouterr().out
