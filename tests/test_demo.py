from svertka import demo


def test_demo_trains_the_notes_model_on_the_embedded_sample(monkeypatch, capsys, tmp_path):
    monkeypatch.delenv("SVERTKA_DATA", raising=False)
    monkeypatch.setenv("SVERTKA_CACHE", str(tmp_path))
    accuracy = demo.run(epochs=2, verbose=0)
    out = capsys.readouterr().out
    assert "the embedded MNIST sample: 6,000 training and 1,000 test images" in out
    assert "Total params: 421,642" in out
    assert "Test accuracy:" in out
    assert accuracy > 0.9
