from svertka import demo


def test_demo_trains_the_notes_model_on_the_embedded_sample(monkeypatch, capsys, tmp_path):
    monkeypatch.delenv("SVERTKA_DATA", raising=False)
    monkeypatch.setenv("SVERTKA_CACHE", str(tmp_path))
    accuracy = demo.run(epochs=2, verbose=0)
    out = capsys.readouterr().out
    assert "the embedded MNIST sample: 6,000 training and 1,000 test images" in out
    assert "Total params: 421,642" in out
    assert "with svertka's compiled kernels (Numba " in out
    assert "Test accuracy:" in out
    assert accuracy > 0.9


def test_the_engine_in_words_names_the_switch(monkeypatch):
    from svertka.kernels import jit

    monkeypatch.setenv("SVERTKA_JIT", "0")
    assert jit.engine() == "NumPy kernels (SVERTKA_JIT=0 turns the compiled ones off)"


def test_a_plain_install_brings_the_compiled_kernels():
    """``pip install svertka`` must give the fast engine: Numba is a core requirement, not an
    extra (a new user otherwise trains on the far slower NumPy kernels; docs/performance.md)."""
    from importlib.metadata import requires

    core = [r for r in requires("svertka") if "extra ==" not in r]
    assert any(r.lower().startswith("numba") for r in core), core
    from svertka.kernels import jit

    assert jit.engine().startswith("compiled kernels (Numba ")


def test_demo_writes_one_line_per_epoch_into_a_log(monkeypatch, capsys, tmp_path):
    """``svertka demo > log`` (stdout not a terminal): no progress-bar updates in the file."""
    monkeypatch.delenv("SVERTKA_DATA", raising=False)
    monkeypatch.setenv("SVERTKA_CACHE", str(tmp_path))
    demo.run(epochs=1)
    out = capsys.readouterr().out
    assert "\r" not in out
    assert sum(line.startswith("Epoch 1/1 - ") for line in out.splitlines()) == 1
