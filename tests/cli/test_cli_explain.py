"""``svertka explain TOPIC``: the notes' arithmetic printed with its working."""

from __future__ import annotations

import pytest

import svertka.cli as cli


@pytest.fixture
def run(capsys):
    """``svertka.cli.main``: (exit code, stdout, stderr)."""

    def go(*argv):
        code = cli.main([str(a) for a in argv])
        out = capsys.readouterr()
        return code, out.out, out.err

    return go


def test_conv_prints_each_cell_and_svertkas_output(run):
    code, out, err = run("explain", "conv", "--input", "1 2 3; 4 5 6; 7 8 9", "--kernel",
                         "1 0; 0 1", "--padding", "1", "--mode", "reflect")
    assert code == 0 and err == ""
    # reflect pads 1 2 3 / 4 5 6 with 5 4 5 6 5 on top: y[0,0] = 5*1 + 4*0 + 2*0 + 1*1 = 6
    assert "y[0,0] = 5*1 + 4*0 + 2*0 + 1*1 = 6" in out
    assert out.rstrip().endswith("12 12 14 14")


def test_pad_mirror_is_symmetric_with_a_note(run):
    code, out, _ = run("explain", "pad", "--input", "ABC", "--mode", "mirror", "--mode",
                       "cyclic")
    assert code == 0
    assert "symmetric  BA[ABC]CB" in out and "circular   BC[ABC]AB" in out
    assert "the notes' 'mirror'" in out


def test_pool_size_params_and_receptive_field(run):
    code, out, _ = run("explain", "pool", "--input", "6 6 6 6; 4 5 5 4; 2 4 4 2; 2 4 4 2",
                       "--mode", "average")
    assert code == 0 and "window [0,0] = [6 6; 4 5] -> avg 5.25" in out
    code, out, _ = run("explain", "size", "7", "--kernel", "3", "--stride", "3")
    assert code == 0 and "2.33 -> 2" in out
    code, out, _ = run("explain", "params", "notes")
    assert code == 0 and "Total params: 421,642" in out and "= 18,496" in out
    code, out, _ = run("explain", "receptive-field", "--windows", "3 3 3")
    assert code == 0 and out.splitlines()[-1].endswith("-> 7x7")
    code, out, _ = run("explain", "receptive-field", "notes")
    assert code == 0 and "max_pooling2d" in out and "-> 10x10" in out


def test_notes_examples_shows_every_example_and_the_misprint(run):
    code, out, _ = run("explain", "notes-examples")
    assert code == 0
    assert "12 of 13 worked examples agree" in out
    assert "conv-padding-1-stride-2 (seed 004 lines 252-264): DIFFERS" in out


def test_existing_size_command_still_works(run):
    code, out, _ = run("size", "7", "--kernel", "3", "--stride", "2")
    assert code == 0 and "= 3" in out


@pytest.mark.parametrize("argv, message", [
    (["conv", "--input", "1 2; x", "--kernel", "1"], "argument 'x' must be numbers"),
    (["conv", "--input", "1 2; 3 4", "--kernel", "1", "--stride", "0"], "'--stride'"),
    (["conv", "--input", "1 2; 3 4", "--kernel", "1", "--padding", "-1"], "--padding"),
    (["pad", "--input", "1 2", "--mode", "wrap"], "argument 'mode' must be one of"),
    (["pool", "--input", "1 2; 3 4", "--mode", "median"], "max, avg, min, sum"),
    (["params", "notes", "--kernel", "3"], "not both"),
    (["params", "nonet"], "argument 'model' must be"),
    (["receptive-field"], "exactly one of them"),
    (["receptive-field", "--windows", "3 x"], "--windows must be"),
    ([], "a TOPIC is required"),
    (["bogus"], "invalid choice"),
])
def test_bad_input_is_one_line_and_exit_2(run, argv, message):
    code, out, err = run("explain", *argv)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("svertka: error:")
    assert message in err
