"""`svertka serve` end to end, in a real headless Chromium (Debian's, driven by Playwright):
a digit drawn with the mouse or a finger is read as that digit; a clicked feature-map cell
shows products whose sum plus bias, through the activation, is the value in the map; uploads
that are not images or are too big get a clear message; a training started from the page
draws a growing loss curve that stops growing when stopped; the page speaks Russian with the
notes' terms; filters and Grad-CAM appear. The page's ids and the endpoints are those of the
issue's contract (docs/serve-api.md). Each view is also saved as a screenshot; the README's:

    SVERTKA_SCREENSHOTS=docs/serve python -m pytest tests/serve/test_browser.py
"""

from __future__ import annotations

import json
import math
import re
import time
import urllib.parse
import urllib.request

import numpy as np
import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture then skips, or fails under SVERTKA_REQUIRE_BROWSER
    expect = None

pytestmark = pytest.mark.slow

TIMEOUT = 10_000  # ms, any wait for the page


def _ellipse(cx, cy, rx, ry, n=32):
    angles = [-math.pi / 2 + 2 * math.pi * i / n for i in range(n + 1)]
    return [(cx + rx * math.cos(a), cy + ry * math.sin(a)) for a in angles]


# Strokes as fractions of the drawing canvas (x right, y down), one list of points per stroke
STROKES = {
    "1": [[(0.52, 0.18), (0.48, 0.82)]],
    "0": [_ellipse(0.5, 0.5, 0.2, 0.32)],
    "7": [[(0.28, 0.2), (0.72, 0.2), (0.45, 0.82)]],
    "4": [[(0.55, 0.18), (0.28, 0.6), (0.75, 0.6)], [(0.6, 0.35), (0.6, 0.85)]],
}

ACTIVATIONS = {  # the activations a cell's output goes through, written out independently
    None: lambda z: z,
    "linear": lambda z: z,
    "relu": lambda z: max(z, 0.0),
    "tanh": math.tanh,
    "sigmoid": lambda z: 1 / (1 + math.exp(-z)),
}


def api(base_url: str, path: str, **params):
    """GET ``path`` of the served app as JSON (the same endpoints a notebook would use)."""
    query = f"?{urllib.parse.urlencode(params)}" if params else ""
    with urllib.request.urlopen(f"{base_url}{path}{query}", timeout=30) as r:
        return json.loads(r.read())


def content_box(page, selector: str):
    """``(x, y, width, height)`` of the element's content box in the viewport, CSS px."""
    return page.eval_on_selector(selector, """e => { const r = e.getBoundingClientRect();
        return [r.left + e.clientLeft, r.top + e.clientTop, e.clientWidth, e.clientHeight]; }""")


def _points(page, strokes, per_segment=8):
    """The strokes in viewport pixels, each segment cut into ``per_segment`` moves."""
    x0, y0, w, h = content_box(page, "canvas#draw")
    out = []
    for stroke in strokes:
        pts = [(x0 + fx * w, y0 + fy * h) for fx, fy in stroke]
        dense = [pts[0]]
        for (ax, ay), (bx, by) in zip(pts, pts[1:]):
            dense += [(ax + (bx - ax) * k / per_segment, ay + (by - ay) * k / per_segment)
                      for k in range(1, per_segment + 1)]
        out.append(dense)
    return out


def draw_mouse(page, digit: str):
    page.click("#clear")
    for stroke in _points(page, STROKES[digit]):
        page.mouse.move(*stroke[0])
        page.mouse.down()
        for p in stroke[1:]:
            page.mouse.move(*p)
        page.mouse.up()


def draw_touch(page, digit: str):
    """The strokes as a finger draws them: touchstart/touchmove/touchend (and the pointer
    events of type "touch" Chromium derives from them), sent through the DevTools protocol."""
    page.click("#clear")
    cdp = page.context.new_cdp_session(page)
    for stroke in _points(page, STROKES[digit]):
        for i, (x, y) in enumerate(stroke):
            cdp.send("Input.dispatchTouchEvent", {"type": "touchMove" if i else "touchStart",
                                                  "touchPoints": [{"x": x, "y": y}]})
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


def settled_prediction(page, quiet_s=0.4) -> dict:
    """The answer to the newest /api/predict request once no prediction has been asked or
    answered for ``quiet_s`` seconds (the page predicts live while one draws, and the answers
    may come back out of order)."""
    record = page.record
    deadline = time.monotonic() + TIMEOUT / 1000
    seen, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        page.wait_for_timeout(100)
        now = len(record.predictions) + 1000 * record.pending
        if now != seen:
            seen, since = now, time.monotonic()
        elif record.pending == 0 and record.predictions and time.monotonic() - since >= quiet_s:
            return record.latest
    raise AssertionError(f"no settled /api/predict answer within {TIMEOUT} ms "
                         f"({len(record.predictions)} answers, {record.pending} pending)")


def expect_read_as(page, label: str) -> dict:
    """Wait until the page shows ``label`` on top; check the top-k rows; return the answer."""
    rows = page.locator("#top .top-row")
    expect(rows.first).to_have_attribute("data-label", label, timeout=TIMEOUT)
    answer = settled_prediction(page)
    expect(page.locator("#prediction")).to_have_text(label)
    assert answer["top"][0]["label"] == label, answer["top"]
    probs = [float(p) for p in rows.evaluate_all(
        "rs => rs.map(r => r.getAttribute('data-probability'))")]
    assert len(probs) == len(answer["top"]) >= 2
    assert probs == sorted(probs, reverse=True) and sum(probs) <= 1 + 1e-6
    assert probs[0] == pytest.approx(answer["top"][0]["probability"], abs=1e-6)
    assert rows.first.get_attribute("data-index") == str(answer["top"][0]["index"])
    assert page.text_content("#message").strip() == ""
    # the network's input as the server prepared it is what the page shows
    assert page.get_attribute("img#input-view", "src") == answer["input"]["png"]
    return answer


def requests_elsewhere(page) -> list[str]:
    """Requests that left the served app (the page must work offline: no CDN)."""
    return [u for u in page.record.urls
            if not (u.startswith(page.base_url + "/") or u.startswith(("data:", "blob:")))]


@pytest.fixture(scope="module")
def model_info(served_app):
    return api(served_app.url, "/api/model")


# -- drawing and prediction -----------------------------------------------------------------

@pytest.mark.parametrize("digit", ["1", "0", "7"])
def test_a_digit_drawn_with_the_mouse_is_read_as_that_digit(page, digit, shots):
    draw_mouse(page, digit)
    answer = expect_read_as(page, digit)
    assert answer["input"]["shape"][:2] == [28, 28]
    assert requests_elsewhere(page) == []
    if digit == "7":
        shots("draw", page)


def test_the_prediction_follows_the_pen_before_it_is_lifted(page):
    (stroke,) = _points(page, STROKES["1"], per_segment=24)
    page.mouse.move(*stroke[0])
    page.mouse.down()
    for p in stroke[1:]:
        page.mouse.move(*p)
        page.wait_for_timeout(15)
    page.wait_for_timeout(200)
    page.mouse.move(stroke[-1][0] + 1, stroke[-1][1])  # a live prediction of the whole stroke
    expect(page.locator("#top .top-row").first).to_have_attribute("data-label", "1",
                                                                  timeout=TIMEOUT)
    # a loaded machine may answer the first live prediction only after the stroke ended: the
    # page must then ask again for the whole stroke, still before the pen is lifted
    deadline = time.monotonic() + TIMEOUT / 1000
    while len(page.record.predictions) < 2 and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert len(page.record.predictions) >= 2, "one prediction or none while the pen moved"
    page.mouse.up()
    expect_read_as(page, "1")


def test_a_digit_drawn_with_a_finger_is_read_as_that_digit(page):
    draw_touch(page, "4")
    expect_read_as(page, "4")


# -- layer by layer -------------------------------------------------------------------------

def test_every_spatial_layer_shows_its_maps_type_shape_and_parameters(page, model_info, shots):
    draw_mouse(page, "7")
    answer = expect_read_as(page, "7")
    spatial = [layer for layer in model_info["layers"] if layer["spatial"]]
    assert spatial, model_info["layers"]
    for layer in spatial:
        box = page.locator(f'#layers .layer[data-layer="{layer["name"]}"]')
        maps = box.locator(".maps canvas.map")
        h, w, c = layer["output_shape"]
        expect(maps.first).to_be_attached(timeout=TIMEOUT)
        if maps.count() < c:  # a wide layer may show its first maps and the rest on request
            more = box.locator("button.more")
            assert maps.count() >= 16 and more.count() == 1, (layer["name"], maps.count())
            more.click()
        expect(maps).to_have_count(c, timeout=TIMEOUT)
        info = box.locator(".layer-info").inner_text()
        assert layer["type"] in info, (layer, info)
        assert re.search(rf"{h}\D+{w}\D+{c}", info), (layer, info)
        assert str(layer["params"]) in re.sub(r"[,\s\u00a0\u202f]", "", info), (layer, info)
        width = maps.first.evaluate("e => e.clientWidth")
        assert width >= 3 * w, f"{layer['name']}: {width} CSS px for {w} cells"
    # the first conv layer's most active map is drawn (not blank)
    first = next(layer for layer in spatial if layer["cell"] == "conv")
    f = api(page.base_url, "/api/features", input=answer["id"], layer=first["name"])
    c = int(np.argmax(np.ptp(np.asarray(f["maps"]).reshape(len(f["maps"]), -1), axis=1)))
    canvas = page.locator(f'.layer[data-layer="{first["name"]}"] canvas.map[data-channel="{c}"]')
    levels = canvas.evaluate("""e => { const d = e.getContext('2d')
        .getImageData(0, 0, e.width, e.height).data; const s = new Set();
        for (let i = 0; i < d.length; i += 4) s.add(d[i] + ',' + d[i + 1] + ',' + d[i + 2]);
        return s.size; }""")
    assert levels > 2, f"map {c} of {first['name']} is drawn with {levels} colour(s)"
    shots("layers", page.locator("#layers"))


def _cell_click(page, layer: dict, channel: int, y: int, x: int) -> dict:
    """Click the centre of cell (y, x) of a map; return the /api/cell query the page sent."""
    h, w = layer["output_shape"][:2]
    selector = f'#layers .layer[data-layer="{layer["name"]}"] canvas.map[data-channel="{channel}"]'
    page.locator(selector).scroll_into_view_if_needed()
    x0, y0, cw, ch = content_box(page, selector)
    with page.expect_response(lambda r: "/api/cell" in r.url, timeout=TIMEOUT) as response:
        page.mouse.click(x0 + (x + 0.5) * cw / w, y0 + (y + 0.5) * ch / h)
    assert response.value.ok, response.value.text()
    query = urllib.parse.parse_qs(urllib.parse.urlparse(response.value.url).query)
    return {k: v[0] for k, v in query.items()}


def _busiest_cell(base_url, input_id, layer_name):
    """``(channel, y, x, value)`` of the largest value of a layer's output for this input."""
    f = api(base_url, "/api/features", input=input_id, layer=layer_name)
    maps = np.asarray(f["maps"])  # (c, h, w)
    c, y, x = np.unravel_index(np.argmax(maps), maps.shape)
    return int(c), int(y), int(x), float(maps[c, y, x])


def _number(page, selector: str) -> float:
    return float(page.text_content(selector).strip().replace("\u2212", "-"))


CELLS = [(None, "conv", 0), (None, "conv", 1), (None, "pool", 0),
         # LeNet-5: a zero-padding layer first, tanh, average pooling
         ("lenet5:mnist", "conv", 0), ("lenet5:mnist", "pool", 0)]


@pytest.mark.parametrize("model, kind, which", CELLS,
                         ids=[f"{(m or 'notes').split(':')[0]}-{k}-{w}" for m, k, w in CELLS])
def test_a_clicked_cell_shows_the_arithmetic_that_made_its_value(serve_model, page_of, shots,
                                                                 model, kind, which):
    served = serve_model(model)
    with page_of(served) as page:
        check_cell(page, api(served.url, "/api/model"), kind, which,
                   shots if model is None and which == 0 else None)


def check_cell(page, model_info, kind, which, shots):
    """Click the busiest cell of the ``which``-th layer of ``kind`` for a drawn 7; check the
    arithmetic the page shows and the receptive field it outlines."""
    layers = [layer for layer in model_info["layers"] if layer["spatial"] and layer["cell"] == kind]
    if len(layers) <= which:
        pytest.skip(f"the served model has {len(layers)} {kind} layer(s)")
    layer = layers[which]
    draw_mouse(page, "7")
    answer = expect_read_as(page, "7")
    channel, y, x, value = _busiest_cell(page.base_url, answer["id"], layer["name"])
    query = _cell_click(page, layer, channel, y, x)
    assert (query["input"], query["layer"]) == (answer["id"], layer["name"])
    assert (int(query["channel"]), int(query["y"]), int(query["x"])) == (channel, y, x), query
    cell = api(page.base_url, "/api/cell", **query)
    expect(page.locator("#cell-value")).to_have_text(re.compile(rf"^\s*{value:.4f}\s*$"),
                                                     timeout=TIMEOUT)
    title = page.text_content("#cell-title")
    assert layer["name"] in title and all(str(n) in title for n in (channel, y, x)), title
    shown = _number(page, "#cell-value")

    if kind == "conv":
        conv = cell["conv"]
        products = [float(v) for v in page.locator("table#cell-products td.product").evaluate_all(
            "ps => ps.map(p => p.getAttribute('data-value'))")]
        window, kernel = np.asarray(conv["window"]), np.asarray(conv["kernel"])
        assert len(products) == window.size
        # the products shown are the window's times the kernel's (in whatever order the page
        # lays the channels out)
        np.testing.assert_allclose(sorted(products), np.sort((window * kernel).ravel()),
                                   rtol=1e-5, atol=1e-6)
        bias = float(page.get_attribute("#cell-bias", "data-value"))
        assert bias == pytest.approx(conv["bias"], abs=1e-6)
        if "per_channel" in conv:  # cin > 8: products of the first channels, sums of the rest
            cin, first = conv["channels"], conv["channels_shown"]
            assert sum(products) == pytest.approx(sum(conv["per_channel"][:first]), abs=1e-4)
            total = sum(conv["per_channel"]) + bias
            expect(page.locator("#cell-note")).to_contain_text(str(cin))
        else:
            total = sum(products) + bias
        assert _number(page, "#cell-sum") == pytest.approx(total, abs=1.5e-4)
        act = ACTIVATIONS.get(layer["activation"])
        assert act is not None, f"test knows no activation {layer['activation']!r}"
        # the sum of the products shown plus the bias, through the activation, is the value
        assert act(total) == pytest.approx(shown, abs=1e-4), (total, shown)
        assert _number(page, "#cell-activation") == pytest.approx(shown, abs=1e-4)
        assert "Σ" in page.text_content("#cell")
    else:
        pool = cell["pool"]
        tds = page.locator("table#cell-window td.window-value")
        values = [float(t.strip().replace("\u2212", "-")) for t in tds.all_text_contents()]
        assert len(values) == np.asarray(pool["window"]).size
        if pool["mode"] == "max":
            chosen = page.locator("table#cell-window td.window-value.chosen")
            expect(chosen).to_have_count(1)
            assert float(chosen.text_content()) == pytest.approx(max(values), abs=1e-4)
            assert max(values) == pytest.approx(shown, abs=1e-4)
        else:
            assert np.mean(values) == pytest.approx(shown, abs=1e-4)
        assert _number(page, "#cell-activation") == pytest.approx(shown, abs=1e-4)

    rf = cell["receptive_field"]
    before = model_info["layers"][:[la["name"] for la in model_info["layers"]].index(layer["name"])]
    if kind == "conv" and all(la["type"] == "ZeroPadding2D" for la in before):
        # the first convolution reads the input itself: the window is the field's pixels
        window = np.asarray(cell["conv"]["window"])[:, :, 0]
        field = np.asarray(answer["input"]["values"])[rf["top"]:rf["bottom"],
                                                      rf["left"]:rf["right"]]
        if field.shape == window.shape:  # not clipped at the image's edge
            np.testing.assert_allclose(window, field, atol=1e-4, err_msg=(
                f"{layer['name']} ({y}, {x}): the window is not the input under the receptive "
                f"field {rf}"))
    # the cell's receptive field is outlined on the input, where and as big as it is
    expect(page.locator("#rf-box")).to_be_visible()
    img, box = page.locator("img#input-view").bounding_box(), page.locator("#rf-box").bounding_box()
    size = answer["input"]["shape"][0]
    scale = img["width"] / size
    assert box["x"] == pytest.approx(img["x"] + rf["left"] * scale, abs=3)
    assert box["y"] == pytest.approx(img["y"] + rf["top"] * scale, abs=3)
    assert box["width"] == pytest.approx((rf["right"] - rf["left"]) * scale, abs=4)
    assert box["height"] == pytest.approx((rf["bottom"] - rf["top"]) * scale, abs=4)
    if shots:
        shots(f"{kind}-cell", page)


# -- uploads --------------------------------------------------------------------------------

def _upload(page, **file):
    page.set_input_files("input#upload", files=[file])


def test_uploads_that_are_not_images_or_too_big_get_a_clear_message(page, tmp_path):
    message = page.locator("#message")
    _upload(page, name="notes.txt", mimeType="text/plain", buffer=b"Not a picture, a note.\n")
    expect(message).to_contain_text(re.compile("not an image", re.I), timeout=TIMEOUT)
    expect(message).to_contain_text("23 bytes")

    big = tmp_path / "scan.png"  # 50 MB starting as a PNG would: its size alone must stop it
    with open(big, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.truncate(50 * 1024 * 1024)
    page.set_input_files("input#upload", str(big))
    expect(message).to_contain_text(re.compile(r"\b8 ?MB", re.I), timeout=TIMEOUT)
    expect(message).to_contain_text(re.compile(r"\b(50(\.0)?|52\.4) ?MB", re.I))

    # a real image goes through, and the message clears
    from PIL import Image, ImageDraw

    img = Image.new("L", (200, 200), 255)
    ImageDraw.Draw(img).line([(56, 40), (144, 40), (90, 164)], fill=0, width=16)
    png = tmp_path / "seven.png"
    img.save(png)
    page.set_input_files("input#upload", str(png))
    expect_read_as(page, "7")


# -- filters and attribution ----------------------------------------------------------------

def test_filters_and_grad_cam_overlay_appear(page, model_info, shots):
    conv = next(layer for layer in model_info["layers"] if layer["cell"] == "conv")
    draw_mouse(page, "7")
    answer = expect_read_as(page, "7")
    channel, y, x, _ = _busiest_cell(page.base_url, answer["id"], conv["name"])
    _cell_click(page, conv, channel, y, x)  # selects the layer
    page.click("#show-filters")
    images = page.locator("#filters img")
    expect(images).to_have_count(conv["output_shape"][-1], timeout=TIMEOUT)
    page.wait_for_function("() => [...document.querySelectorAll('#filters img')]"
                           ".every(i => i.complete && i.naturalWidth > 0)", timeout=TIMEOUT)
    shots("filters", page.locator("#filters").locator("xpath=.."))

    overlay = page.locator("img#overlay")
    for method in ("saliency", "gradcam"):
        with page.expect_response(lambda r: "/api/attribution" in r.url, timeout=TIMEOUT) as r:
            page.click(f"#show-{method}")
        assert r.value.ok and f"method={method}" in r.value.url, r.value.url
        expect(overlay).to_be_visible(timeout=TIMEOUT)
        expect(overlay).to_have_attribute("src", r.value.json()["overlay"], timeout=TIMEOUT)
        page.wait_for_function("() => document.querySelector('img#overlay').naturalWidth > 0")
        over = overlay.bounding_box()
        under = page.locator("img#input-view").bounding_box()
        for k in ("x", "y", "width", "height"):  # over the input, not beside it
            assert over[k] == pytest.approx(under[k], abs=3), (k, over, under)
    page.evaluate("window.scrollTo(0, 0)")
    shots("gradcam", page)


# -- languages ------------------------------------------------------------------------------

def test_the_language_switch_gives_the_notes_russian_terms_and_back(page, shots):
    draw_mouse(page, "7")
    expect_read_as(page, "7")
    labels = page.locator("[data-i18n]")
    english = labels.all_inner_texts()
    assert len(english) >= 10
    page.click("#lang-ru")
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    text = page.inner_text("body").lower()
    for term in ("свёртка", r"карт[аеуы]? признаков", r"рецептивн\w+ пол[яеюь]", "ядр[оа]"):
        assert re.search(term, text), f"no {term!r} (the notes' term) on the Russian page"
    russian = labels.all_inner_texts()
    changed = sum(a != b for a, b in zip(english, russian))
    assert changed >= 0.8 * len(english), f"only {changed} of {len(english)} labels changed"
    cyrillic = sum(bool(re.search("[а-яё]", t, re.I)) for t in russian)
    assert cyrillic >= 0.8 * len(russian)
    shots("russian", page)
    page.click("#lang-en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert labels.all_inner_texts() == english


# -- training from the page -----------------------------------------------------------------

def _points_drawn(page) -> int:
    return int(page.get_attribute("canvas#loss-curve", "data-points") or 0)


def test_a_training_draws_a_growing_loss_curve_that_stops_when_stopped(page_of, fresh_app,
                                                                       shots):
    if not api(fresh_app.url, "/api/model")["trainable_here"]:
        pytest.skip("the served model cannot be trained from the page")
    with page_of(fresh_app) as page:
        record = page.record
        draw_mouse(page, "7")
        expect_read_as(page, "7")
        # the notes' model trains an epoch of the 2,000-image sample in 1-3 s here: three
        # epochs leave time to see the curve grow and to stop it before it ends by itself
        page.fill("#train-epochs", "3")
        page.click("#train-start")
        expect(page.locator("#train-status")).to_contain_text(re.compile("running", re.I),
                                                              timeout=TIMEOUT)
        seen = [_points_drawn(page)]
        deadline = time.monotonic() + 20
        while len(set(seen)) < 3 and time.monotonic() < deadline:  # grows, twice over
            page.wait_for_timeout(150)
            seen.append(_points_drawn(page))
        assert len(set(seen)) >= 3 and seen == sorted(seen), seen
        asked = len(record.urls)
        page.click("#train-stop")
        expect(page.locator("#train-status")).to_contain_text(re.compile("stopped", re.I),
                                                              timeout=TIMEOUT)
        status = api(fresh_app.url, "/api/train/status")
        assert not status["running"], status
        stopped = _points_drawn(page)
        page.wait_for_timeout(1200)  # four polls' worth: nothing more is drawn
        assert _points_drawn(page) == stopped == len(status["losses"]) > seen[0]
        # the views then show the model as it is now: its maps are asked for again
        assert any("/api/features" in u for u in record.urls[asked:]), record.urls[asked:]
        shots("training", page)
