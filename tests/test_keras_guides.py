"""Keras's own guides and Keras 2's CIFAR-10 examples, run cell by cell with only their
imports changed (``import keras`` -> ``import svertka as keras``) and their workloads shrunk:
the scripts live in tests/keras_guides/, tests/keras_guides/run.py runs them.

Every cell of every guide must run; the one excuse is ``plot_model``'s "install Graphviz"
error on a machine without Graphviz's ``dot`` program (the model's graph is still built
first). After a guide runs, ``CHECKS`` compare what it computed with Keras's values.
"""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

GUIDES = Path(__file__).resolve().parent / "keras_guides"


def _load_runner():
    spec = importlib.util.spec_from_file_location("keras_guides_run", GUIDES / "run.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


run = _load_runner()

# the one guide quick enough (about a second) to run without --runslow-style selection
QUICK = "sequential_model"

def _environmental(failure):
    """A failure that says what this machine lacks (Graphviz's ``dot`` program for
    plot_model) and not what svertka lacks: the issue asks for a clear error there."""
    return (isinstance(failure.exception, ImportError)
            and str(failure.exception).startswith("plot_model: you must install Graphviz"))


def _check_callbacks(ns):
    # 15 epochs of the learning-rate-schedule model: a Sequential without Input trains from
    # its first fit (issue 22: the loss used to stay the same every epoch)
    losses = ns["model"].history.history["loss"]
    assert len(losses) == 15 and len(set(losses)) > 1 and losses[-1] < losses[0]
    assert float(np.array(ns["model"].optimizer.learning_rate)) == pytest.approx(0.001)


def _check_intro(ns):
    # (4 shrunk steps leave the accuracy at chance: the structure is what is checked)
    assert len(ns["score"]) == 2  # evaluate's [loss, acc], as compiled
    p = np.asarray(ns["predictions"])
    assert p.shape == (256, 10) and np.allclose(p.sum(axis=1), 1, atol=1e-5)
    # MyModel's sublayers are tracked: 4 convolutions and MyDense, kernel and bias each
    assert len(ns["model"].trainable_weights) == 10


def _check_sequential(ns):
    assert ns["layer"].weights and len(ns["layer"].weights) == 2  # (4, 3) and (3,)
    assert tuple(ns["features"].shape) == (1, 121, 121, 32)  # 250 -> 123 -> 121


def _check_functional(ns):
    assert len(ns["test_scores"]) == 2
    assert len(ns["extracted_features"]) == len(ns["vgg19"].layers)
    assert tuple(ns["ensemble_model"].outputs[0].shape) == (None, 1)


def _check_training(ns):
    assert {"loss", "sparse_categorical_accuracy", "val_loss",
            "val_sparse_categorical_accuracy"} <= set(ns["history"].history)
    # the LogisticEndpoint cell rebinds `predictions` to its symbolic output, as in Keras
    assert tuple(ns["predictions"].shape) == (None, 10)
    assert np.isfinite(ns["model"].history.history["loss"]).all()


def _check_serialization(ns):
    # Keras's documented serialization of a registered custom layer
    config = ns["config"]
    assert config["registered_name"] == "MyLayers>KernelMult"
    assert config["class_name"] == "MyDense"


def _check_cifar10_cnn(ns):
    assert ns["model"].count_params() == 1_250_858  # Keras's count for this model
    assert len(ns["scores"]) == 2


def _check_cifar10_resnet(ns):
    model = ns["model"]
    # Keras 3.15.1's counts for resnet_v1(depth=20): 274,442 parameters, 82 trainable and
    # 38 non-trainable (19 BatchNormalization moving means and variances) weights
    assert model.count_params() == 274_442
    assert (len(model.trainable_weights), len(model.non_trainable_weights)) == (82, 38)
    assert len(ns["scores"]) == 2


def _check_transfer(ns):
    # fine-tuning unfroze the base: its weights train again, beside the new Dense head's two
    base, model = ns["base_model"], ns["model"]
    assert base.trainable
    assert len(model.trainable_weights) == len(base.trainable_weights) + 2


CHECKS = {
    "transfer_learning": _check_transfer,
    "writing_your_own_callbacks": _check_callbacks,
    "intro_to_keras_for_engineers": _check_intro,
    "sequential_model": _check_sequential,
    "functional_api": _check_functional,
    "training_with_built_in_methods": _check_training,
    "serialization_and_saving": _check_serialization,
    "cifar10_cnn": _check_cifar10_cnn,
    "cifar10_resnet": _check_cifar10_resnet,
}


def _param(name):
    return pytest.param(name, marks=() if name == QUICK else pytest.mark.slow, id=name)


def test_every_check_is_of_a_guide_script():
    assert set(CHECKS) <= set(run.guides())


@pytest.mark.parametrize("name", [_param(n) for n in run.guides()])
def test_keras_guide_runs_cell_by_cell(name):
    from svertka.datasets.sources import DatasetNotFoundError

    result = run.run_guide(GUIDES / f"{name}.py", keep_going=True)
    failures = [f for f in result.failures if not _environmental(f)]
    if failures and isinstance(failures[0].exception, DatasetNotFoundError):
        pytest.skip(f"{name} needs a data set that is not in $SVERTKA_DATA")
    assert not failures, "cells that fail:\n" + result.report()
    if name in CHECKS:
        CHECKS[name](result.namespace)


def _guide(tmp_path, text):
    path = tmp_path / "demo.py"
    path.write_text(text)
    return path


def test_runner_stops_at_the_first_failing_cell_and_points_into_the_script(tmp_path):
    path = _guide(tmp_path, "# header\n# %% [1] Setup\nx = 1\n"
                            "# %% [2] Break\ny = x +\\\n  undefined_name\n# %% [3] Never\nz = 3\n")
    result = run.run_guide(path)
    assert (result.cells_run, result.cells_total) == (2, 3) and not result.ok
    failure = result.failures[0]
    assert (failure.cell.number, failure.cell.title) == (2, "Break")
    assert failure.error == "NameError: name 'undefined_name' is not defined"
    assert f'File "{path}", line 6' in failure.traceback  # the script's own line
    assert "z" not in result.namespace and result.namespace["x"] == 1
    assert "cell [2] Break (line 5)" in result.report()


def test_runner_keeps_going_on_request_and_reports_every_failure(tmp_path):
    path = _guide(tmp_path, "# %% [1] A\n1 / 0\n# %% [2] B\nx = 2\n# %% [3] C\nx.nope\n")
    result = run.run_guide(path, keep_going=True)
    assert result.cells_run == 3 and [f.cell.number for f in result.failures] == [1, 3]
    assert result.namespace["x"] == 2 and set(result.cell_seconds) == {1, 2, 3}


def test_runner_gives_cells_a_temporary_folder_and_undoes_their_environment(tmp_path):
    import os

    path = _guide(tmp_path, "# %% [1] Write\nimport os\nopen('out.txt', 'w').write('x')\n"
                            "here = os.getcwd()\nos.environ['KERAS_BACKEND'] = 'jax'\n")
    cwd, backend = os.getcwd(), os.environ.get("KERAS_BACKEND")
    result = run.run_guide(path)
    assert result.ok and os.getcwd() == cwd and os.environ.get("KERAS_BACKEND") == backend
    here = Path(result.namespace["here"])
    assert here != Path(cwd) and not here.exists()  # the cells' folder is removed after
    keep = tmp_path / "keep"
    keep.mkdir()
    assert run.run_guide(path, workdir=keep).ok and (keep / "out.txt").read_text() == "x"


def test_runner_refuses_a_script_without_markers_or_with_misnumbered_cells(tmp_path):
    with pytest.raises(ValueError, match="no cell marker"):
        run.parse_cells(_guide(tmp_path, "x = 1\n"))
    with pytest.raises(ValueError, match=r"numbered 1, 2, \.\.\. in order, received \[1, 3\]"):
        run.parse_cells(_guide(tmp_path, "# %% [1] A\nx = 1\n# %% [3] C\ny = 2\n"))
