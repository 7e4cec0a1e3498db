"""svertka serve's endpoints through Flask's test client: every view, every error, the page
and its static files, predicting real MNIST test digits drawn as a canvas sends them, and
training from the page (started, watched, interrupted)."""

import argparse
import base64
import io
import re
import time

import numpy as np
import pytest

pytest.importorskip("flask")
from PIL import Image  # noqa: E402

import svertka  # noqa: E402
from svertka.serve import make_app, state  # noqa: E402
from svertka.serve.app import STATIC  # noqa: E402


def canvas_png(digit: np.ndarray) -> bytes:
    """An MNIST digit as the page's canvas sends it: a 280x280 PNG, dark ink on white."""
    big = Image.fromarray(digit).resize((280, 280), Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    Image.fromarray(255 - np.asarray(big)).convert("RGBA").save(buffer, format="PNG")
    return buffer.getvalue()


def picture(url: str) -> Image.Image:
    assert url.startswith("data:image/png;base64,")
    return Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))


@pytest.fixture(scope="module")
def client():
    return make_app(allow_training=False).test_client()


@pytest.fixture(scope="module")
def digits():
    _, (x, y) = state.sample()
    return x, y


@pytest.fixture(scope="module")
def held(client, digits):
    """The id of a prediction of a real test digit, and the response."""
    x, _ = digits
    r = client.post("/api/predict?source=canvas", data=canvas_png(x[0]),
                    content_type="image/png")
    assert r.status_code == 200, r.json
    return r.json["id"], r.json


def error_of(response, status: int) -> str:
    assert response.status_code == status, response.data[:300]
    assert response.is_json and set(response.json) == {"error"}
    return response.json["error"]


def test_the_page_and_its_static_files(client):
    index = STATIC / "index.html"
    r = client.get("/")
    if index.is_file():
        assert r.status_code == 200 and r.data == index.read_bytes()
        assert r.content_type.startswith("text/html")
    else:
        assert "index.html) is not installed" in error_of(r, 404)
    for file in sorted(STATIC.glob("*"))[:6]:
        assert client.get(f"/static/{file.name}").data == file.read_bytes()
    assert "was not found" in error_of(client.get("/static/no-such-file.js"), 404)


@pytest.mark.parametrize("path", ["/static/../app.py", "/static/%2e%2e/app.py",
                                  "/static/..%2fapp.py", "/static/%2e%2e%2fstate.py",
                                  "/static//etc/passwd", "/static/../../../pyproject.toml"])
def test_static_refuses_paths_outside_the_package_folder(client, path):
    r = client.get(path, follow_redirects=True)  # '//' is redirected to '/' first
    error_of(r, 404)
    assert b"def " not in r.data and b"root:" not in r.data


def test_model_describes_the_shipped_model(client):
    m = client.get("/api/model").json
    assert m["name"] in ("notes:mnist", "lenet5:mnist")
    assert m["input_shape"] == [28, 28, 1] and m["kind"] == "digits"
    assert m["classes"] == [str(k) for k in range(10)]
    assert m["trainable_here"] is False  # this app was made with allow_training=False
    names = [row["name"] for row in m["layers"]]
    model = client.application.extensions["svertka.serve"].model
    assert names == [la.name for la in model.layers]
    assert sum(row["params"] for row in m["layers"]) == model.count_params()
    assert {row["cell"] for row in m["layers"]} >= {"conv", "pool", "other"}


def test_predict_reads_real_mnist_test_digits_drawn_on_a_canvas(client, digits):
    # 200 test digits, each drawn as a canvas sends it (dark ink on white, 280x280): the
    # page's reading (crop, 20x20 box, centre of mass) must keep the model's accuracy
    x, y = digits
    right = 0
    for i in range(200):
        r = client.post("/api/predict?source=canvas&top=3", data=canvas_png(x[i]),
                        content_type="image/png")
        assert r.status_code == 200, r.json
        top = r.json["top"]
        assert len(top) == 3 and top[0]["label"] == str(top[0]["index"])
        assert [t["probability"] for t in top] == sorted((t["probability"] for t in top),
                                                         reverse=True)
        right += top[0]["index"] == y[i]
    assert right >= 194, f"{right} of 200 read right"


def test_predict_answers_the_input_as_the_network_sees_it(held, digits):
    key, r = held
    assert re.fullmatch(r"[0-9a-f]{12}", key)
    assert len(r["top"]) == 5 and isinstance(r["ms"], float)
    assert r["input"]["shape"] == [28, 28, 1]
    values = np.array(r["input"]["values"])
    assert values.shape == (28, 28) and 0 <= values.min() and 0.9 < values.max() <= 1.0
    assert np.abs(values - digits[0][0] / 255).mean() < 0.06  # MNIST-centred like MNIST
    img = picture(r["input"]["png"])
    assert img.size == (140, 140)
    np.testing.assert_allclose(np.asarray(img)[::5, ::5] / 255, values, atol=0.5 / 255 + 1e-4)


def test_predict_takes_an_uploaded_file_as_is_or_as_a_form(client, digits):
    x, _ = digits
    buffer = io.BytesIO()
    Image.fromarray(x[1]).save(buffer, format="JPEG", quality=95)  # white on black, JPEG
    label = str(digits[1][1])
    r = client.post("/api/predict", data=buffer.getvalue(),
                    content_type="application/octet-stream")
    assert r.status_code == 200 and r.json["top"][0]["label"] == label
    form = {"file": (io.BytesIO(buffer.getvalue()), "digit.jpg")}
    r = client.post("/api/predict?source=upload", data=form, content_type="multipart/form-data")
    assert r.status_code == 200 and r.json["top"][0]["label"] == label


def test_predict_errors(client):
    message = error_of(client.post("/api/predict", data=b"just some text",
                                   content_type="application/octet-stream"), 400)
    assert message == ("POST /api/predict: the upload is not an image Pillow can read "
                       "(received 14 bytes starting with b'just some text'); use a PNG, "
                       "JPEG, GIF, BMP, TIFF or WebP file")
    big = client.post("/api/predict?source=upload", data=b"\x89PNG" + bytes(50 * 2 ** 20),
                      content_type="image/png")
    assert "the limit is 8 MB, received 50.0 MB" in error_of(big, 413)
    blank = io.BytesIO()
    Image.new("RGBA", (280, 280), "white").save(blank, format="PNG")
    assert error_of(client.post("/api/predict?source=canvas", data=blank.getvalue(),
                                content_type="image/png"), 400) == \
        "POST /api/predict: the canvas is empty; draw a digit first"
    assert "has no body" in error_of(client.post("/api/predict"), 400)
    assert "argument 'source' must be 'canvas' or 'upload', received 'pen'" in error_of(
        client.post("/api/predict?source=pen", data=blank.getvalue()), 400)
    assert "argument 'top' must be an int, received 'all'" in error_of(
        client.post("/api/predict?top=all", data=blank.getvalue()), 400)
    assert "not allowed" in error_of(client.get("/api/predict"), 405)


def test_upload_limit_follows_max_upload_mb():
    small = make_app("lenet5:mnist", max_upload_mb=1, allow_training=False).test_client()
    r = small.post("/api/predict", data=bytes(2 * 2 ** 20), content_type="image/png")
    assert "the limit is 1 MB, received 2.0 MB" in error_of(r, 413)
    with pytest.raises(ValueError, match="argument 'max_upload_mb' must be > 0"):
        make_app(max_upload_mb=0)


def test_features_of_every_layer(client, held):
    key, _ = held
    for row in client.get("/api/model").json["layers"]:
        f = client.get(f"/api/features?input={key}&layer={row['name']}").json
        assert f["layer"] == row["name"]
        if row["spatial"]:
            h, w, c = row["output_shape"]
            assert f["shape"] == [h, w, c] and np.array(f["maps"]).shape == (c, h, w)
            assert np.min(f["maps"]) == pytest.approx(f["min"], abs=5e-5)
        else:
            assert f["shape"] == [int(np.prod(row["output_shape"]))] and "maps" not in f
            assert len(f["values"]) == f["shape"][0]


def test_cell_of_each_conv_and_pool_layer_matches_the_map(client, held):
    key, _ = held
    for row in client.get("/api/model").json["layers"]:
        if not row["spatial"]:
            continue
        h, w, c = row["output_shape"]
        maps = client.get(f"/api/features?input={key}&layer={row['name']}").json["maps"]
        for ch, y, x in [(0, 0, 0), (c - 1, h - 1, w - 1), (c // 2, h // 2, w // 3)]:
            r = client.get(f"/api/cell?input={key}&layer={row['name']}&channel={ch}"
                           f"&y={y}&x={x}").json
            assert r["cell"] == row["cell"] and (r["channel"], r["y"], r["x"]) == (ch, y, x)
            assert round(r["value"], 4) == pytest.approx(maps[ch][y][x], abs=1e-9)
            if r["cell"] == "other":  # the value and its field only
                assert "conv" not in r and "pool" not in r and r["receptive_field"]
                continue
            worked = r["conv"] if r["cell"] == "conv" else r["pool"]
            assert worked["output"] == pytest.approx(maps[ch][y][x], abs=6e-5)
            if r["cell"] == "conv":
                conv = r["conv"]
                total = (sum(conv["per_channel"]) if "per_channel" in conv
                         else float(np.sum(conv["products"])))
                assert total == pytest.approx(conv["sum"], abs=1e-9)
                assert conv["pre_activation"] == pytest.approx(conv["sum"] + conv["bias"])
            rf = r["receptive_field"]
            assert 0 <= rf["top"] < rf["bottom"] <= 28 and 0 <= rf["left"] < rf["right"] <= 28


def test_cell_errors_name_the_argument_the_range_and_the_value(client, held):
    key, _ = held
    layers = client.get("/api/model").json["layers"]
    conv = next(r for r in layers if r["cell"] == "conv")
    flat = next(r["name"] for r in layers if not r["spatial"])  # flatten, flatten_12, ...
    h, w, c = conv["output_shape"]
    base = f"/api/cell?input={key}&layer={conv['name']}"
    cases = {
        f"{base}&channel={c}&y=0&x=0": rf"argument 'channel' must be an int in \[0, {c}\)"
                                       rf" for layer .* received {c}$",
        f"{base}&channel=0&y={h}&x=0": rf"argument 'y' must be an int in \[0, {h}\) .* "
                                       rf"received {h}$",
        f"{base}&channel=0&y=0&x=-1": r"argument 'x' must be an int in \[0, \d+\) .* -1$",
        f"{base}&channel=0&y=0&x=one": r"argument 'x' must be an int, received 'one'$",
        f"{base}&channel=0&y=0": r"argument 'x' is required",
        f"/api/cell?input={key}&layer=nope&channel=0&y=0&x=0":
            r"argument 'layer' must name a layer of model .* received 'nope'",
        f"/api/cell?input={key}&layer={flat}&channel=0&y=0&x=0":
            rf"argument 'layer' must be a layer whose output is an image .* '{flat}' "
            r"\(Flatten, output \d+\)",
    }
    for url, pattern in cases.items():
        message = error_of(client.get(url), 400)
        assert message.startswith("GET /api/cell: ")
        assert re.search(pattern, message), message


def test_an_unknown_input_id_is_404(client):
    for url in ["/api/features?input=0123abcd&layer=flatten",
                "/api/cell?input=0123abcd&layer=flatten&channel=0&y=0&x=0",
                "/api/attribution?input=0123abcd"]:
        message = error_of(client.get(url), 404)
        assert "argument 'input' must be the id of a recent prediction" in message
        assert "received '0123abcd'" in message
    assert "argument 'input' is required" in error_of(client.get("/api/features?layer=a"), 400)


def test_inputs_keep_the_most_recent_only():
    held = state.Inputs(size=2)
    a, b = held.put(np.zeros(1)), held.put(np.ones(1))
    held.get(a, "test")  # a is now the most recently used
    c = held.put(np.full(1, 2.0))
    assert held.get(a, "test")[0] == 0 and held.get(c, "test")[0] == 2
    with pytest.raises(state.UnknownInput, match="keeps the last 2"):
        held.get(b, "test")


def test_filters(client):
    layers = client.get("/api/model").json["layers"]
    conv = next(r for r in layers if r["cell"] == "conv")
    f = client.get(f"/api/filters?layer={conv['name']}").json
    assert f["layer"] == conv["name"] and len(f["images"]) == conv["output_shape"][-1]
    assert f["shape"][-1] == conv["output_shape"][-1]
    assert picture(f["images"][0]).size[1] >= 40
    pool = next(r for r in layers if r["cell"] == "pool")
    assert "must be a convolution" in error_of(
        client.get(f"/api/filters?layer={pool['name']}"), 400)


def test_attribution(client, held):
    key, r = held
    predicted = r["top"][0]["index"]
    for method in ("gradcam", "saliency"):
        a = client.get(f"/api/attribution?input={key}&method={method}").json
        assert a["method"] == method and a["class"] == predicted
        assert np.array(a["heatmap"]).shape == (28, 28)
        assert picture(a["overlay"]).size == picture(r["input"]["png"]).size
    a = client.get(f"/api/attribution?input={key}&method=saliency&class=3").json
    assert a["class"] == 3 and a["label"] == "3"
    assert "'method' must be one of" in error_of(
        client.get(f"/api/attribution?input={key}&method=shap"), 400)
    assert "argument 'class' must be an int in [0, 10)" in error_of(
        client.get(f"/api/attribution?input={key}&class=10"), 400)


def test_unknown_routes_answer_json(client):
    assert "was not found" in error_of(client.get("/api/nothing"), 404)


def wait_for(predicate, seconds=60.0):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_training_starts_reports_its_losses_and_stops():
    client = make_app().test_client()
    info = client.get("/api/model").json
    assert info["trainable_here"] is True and info["max_upload_mb"] == 8
    idle = client.get("/api/train/status").json
    assert idle == {"running": False, "done": False, "losses": [], "iteration": 0, "epoch": 0,
                    "epochs": 0, "test_accuracy": None, "error": None}
    r = client.post("/api/train/start", json={"epochs": 1, "batch_size": 16,
                                              "learning_rate": 1e-4})
    assert r.status_code == 200 and r.json == {"started": True}
    assert "already running" in error_of(client.post("/api/train/start", json={}), 409)
    running = wait_for(lambda: (s := client.get("/api/train/status").json)["iteration"] >= 3
                       and s)
    assert running["running"] and running["test_accuracy"] is None
    # the page's views keep working while it trains
    _, (x, _) = state.sample()
    assert client.post("/api/predict?source=canvas", data=canvas_png(x[0])).status_code == 200
    assert client.post("/api/train/stop").json == {"stopped": True}
    stopped = client.get("/api/train/status").json
    assert not stopped["running"] and stopped["done"] and stopped["error"] is None
    assert stopped["iteration"] == len(stopped["losses"]) >= 3
    assert stopped["iteration"] < 375  # interrupted: one epoch is 6,000 / 16 = 375 steps
    assert stopped["epochs"] == 1 and stopped["epoch"] == 0
    assert all(np.isfinite(stopped["losses"]))
    assert 0.8 <= stopped["test_accuracy"] <= 1.0  # the shipped weights, barely moved
    time.sleep(0.3)
    assert client.get("/api/train/status").json["losses"] == stopped["losses"]


def test_training_settings_are_checked():
    client = make_app().test_client()
    assert "argument 'epochs' must be an int in [1, 100], received 0" in error_of(
        client.post("/api/train/start", json={"epochs": 0}), 400)
    assert "argument 'learning_rate' must be" in error_of(
        client.post("/api/train/start", json={"learning_rate": -1}), 400)
    assert "unknown settings ['lr']" in error_of(
        client.post("/api/train/start", json={"lr": 0.1}), 400)
    assert "the body must be JSON" in error_of(
        client.post("/api/train/start", data=b"epochs=1", content_type="text/plain"), 400)
    assert client.get("/api/train/status").json["running"] is False


def test_training_is_refused_where_it_cannot_run(client):
    assert "cannot be trained here" in error_of(client.post("/api/train/start", json={}), 409)
    small = svertka.Sequential([svertka.layers.Input((8, 8, 1)), svertka.layers.Flatten(),
                                svertka.layers.Dense(3)])
    other = make_app(small).test_client()
    assert other.get("/api/model").json["trainable_here"] is False
    message = error_of(other.post("/api/train/start", json={}), 409)
    assert "takes (8, 8, 1) and gives 3 classes" in message
    with pytest.raises(ValueError, match="'allow_training' is True, but model"):
        make_app(small, allow_training=True)


def test_models_from_a_file_a_zoo_spec_or_an_object(tmp_path):
    model = svertka.Sequential([svertka.layers.Input((16, 16, 3)),
                                svertka.layers.Conv2D(2, 3, name="c"),
                                svertka.layers.Flatten(), svertka.layers.Dense(4)])
    path = tmp_path / "tiny.svk"
    model.save(path)
    m = make_app(str(path)).test_client().get("/api/model").json
    assert m["name"] == "tiny.svk" and m["kind"] == "images" and m["input_shape"] == [16, 16, 3]
    assert m["classes"] == ["0", "1", "2", "3"]
    assert make_app(model).test_client().get("/api/model").json["name"] == model.name
    lenet = make_app("lenet5:mnist", allow_training=False).test_client()
    assert lenet.get("/api/model").json["name"] == "lenet5:mnist"
    with pytest.raises(ValueError, match=r"zoo network with shipped weights \(.*lenet5:mnist"
                                         r".*\), received 'lenet5:cifar10' \(no such file\)"):
        make_app("lenet5:cifar10")
    with pytest.raises(TypeError, match="argument 'model' must be None, a .svk file"):
        make_app(42)


def test_cli_serve_parses_and_runs(monkeypatch):
    from svertka.cli import serve as cli

    parser = argparse.ArgumentParser()
    cli.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["serve", "lenet5:mnist", "--port", "8123", "--no-browser"])
    calls = []
    monkeypatch.setattr("svertka.serve.app.serve", lambda *a, **k: calls.append((a, k)))
    args.run(args)
    assert calls == [(("lenet5:mnist",), {"host": "127.0.0.1", "port": 8123,
                                           "open_browser": False})]
    args = parser.parse_args(["serve", "--port", "0"])
    with pytest.raises(ValueError, match=r"serve: argument '--port' must be an int in "
                                         r"\[1, 65535\], received 0"):
        args.run(args)


def test_waitress_serves_the_app_and_answers_a_large_body_with_the_message():
    import json
    import socket
    import threading
    import urllib.error
    import urllib.request

    from svertka.serve.app import make_server

    app = make_app("lenet5:mnist", allow_training=False)
    server = make_server(app, "127.0.0.1", 0)
    threading.Thread(target=server.run, daemon=True).start()
    url = f"http://127.0.0.1:{server.effective_port}"
    try:
        assert json.load(urllib.request.urlopen(f"{url}/api/model"))["name"] == "lenet5:mnist"
        request = urllib.request.Request(f"{url}/api/predict", data=bytes(50 * 2 ** 20),
                                         headers={"Content-Type": "image/png"})
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(request)
        assert e.value.code == 413
        assert "the limit is 8 MB, received 50.0 MB" in json.load(e.value)["error"]
        with socket.create_connection(("127.0.0.1", server.effective_port)) as s:
            s.sendall(b"GET /static/../app.py HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      b"Connection: close\r\n\r\n")
            answer = s.recv(4096)
        assert answer.startswith(b"HTTP/1.1 404") and b"def make_app" not in answer
        with pytest.raises(OSError, match=f"port {server.effective_port} on 127.0.0.1 is in "
                                          f"use by another program; choose another with"):
            make_server(app, "127.0.0.1", server.effective_port)
    finally:
        server.close()


def test_a_local_server_answers_this_machine_only_and_its_own_page(client, digits):
    # DNS rebinding: a page of another site, resolved to 127.0.0.1, names its own host
    message = error_of(client.get("/api/model", headers={"Host": "evil.example:8000"}), 403)
    assert "answers this machine only" in message and "'evil.example:8000'" in message
    for host in ("127.0.0.1:8000", "localhost", "[::1]:8000"):
        assert client.get("/api/model", headers={"Host": host}).status_code == 200
    # another site's page POSTing a drawing: the browser names it in Origin
    png = canvas_png(digits[0][0])
    message = error_of(client.post("/api/predict?source=canvas", data=png,
                                   headers={"Origin": "http://evil.example"}), 403)
    assert "another site's page ('http://evil.example')" in message
    same = client.post("/api/predict?source=canvas", data=png,
                       headers={"Origin": "http://localhost", "Host": "localhost"})
    assert same.status_code == 200
    # a server for a network (--host) takes any name
    open_app = make_app("lenet5:mnist", allow_training=False, local_only=False).test_client()
    assert open_app.get("/api/model", headers={"Host": "lab-pc.local:8000"}).status_code == 200
