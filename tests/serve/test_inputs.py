"""svertka.serve.inputs: from the bytes a page sends to the array a network receives."""

import base64
import io

import numpy as np
import pytest
from PIL import Image

from svertka.ocr.normalize import centre_of_mass, ink_box
from svertka.serve import inputs
from svertka.serve.state import sample


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def canvas_of(digit: np.ndarray, size: int = 280, at=(0, 0)) -> Image.Image:
    """A 28x28 MNIST digit (ink bright) drawn as a canvas sends it: dark ink on an opaque
    white 280x280 canvas, enlarged smoothly, its top-left corner ``at``."""
    big = Image.fromarray(digit).resize((size, size), Image.Resampling.BILINEAR)
    ink = np.zeros((280, 280), np.uint8)
    ink[at[0]:at[0] + size, at[1]:at[1] + size] = np.asarray(big)
    return Image.fromarray(255 - ink).convert("RGBA")


@pytest.fixture(scope="module")
def digits():
    _, (x, y) = sample()
    return x, y


def test_decode_reads_a_png_and_refuses_what_is_not_an_image():
    img = inputs.decode(png(Image.new("RGB", (5, 3), "red")))
    assert img.size == (5, 3)
    with pytest.raises(ValueError, match=r"not an image Pillow can read \(received 12 bytes "
                                         r"starting with b'%PDF-1.4 abc'\)"):
        inputs.decode(b"%PDF-1.4 abc")
    with pytest.raises(ValueError, match="the request has no body"):
        inputs.decode(b"")
    with pytest.raises(ValueError, match="damaged image"):
        noise = np.random.default_rng(0).integers(0, 256, (40, 40), dtype=np.uint8)
        inputs.decode(png(Image.fromarray(noise))[:800])


def test_decode_refuses_too_many_pixels_before_decoding_them():
    huge = png(Image.new("1", (10_000, 5_000)))  # 50 million pixels in a few kilobytes
    assert len(huge) < 200_000
    with pytest.raises(ValueError, match=r"10000x5000 = 50,000,000 pixels, more than the "
                                         r"limit of 40,000,000"):
        inputs.decode(huge)


def test_model_kind():
    assert inputs.model_kind((28, 28, 1), 10) == "digits"
    assert inputs.model_kind((28, 28, 1), 26) == "letters"
    assert inputs.model_kind((28, 28, 1), 10, ["T-shirt/top", "Trouser"] + ["x"] * 8) == "images"
    assert inputs.model_kind((32, 32, 3), 10) == "images"
    assert inputs.model_kind((28, 28, 3), 10) == "images"


def test_ink_is_the_same_from_dark_on_light_and_light_on_dark():
    page = np.full((20, 30), 0.9, np.float32)
    page[5:15, 10:13] = 0.2
    dark = inputs.ink(page)
    assert dark[5:15, 10:13].min() == pytest.approx(1.0) and dark.sum() == pytest.approx(30)
    np.testing.assert_allclose(inputs.ink(1 - page), dark, atol=1e-6)
    assert not inputs.ink(np.full((8, 8), 0.5, np.float32)).any()


def test_transparent_canvas_with_light_or_dark_ink_reads_the_same():
    stroke = np.zeros((50, 50), bool)
    stroke[10:40, 20:26] = True
    rgba = np.zeros((50, 50, 4), np.uint8)
    rgba[stroke] = (255, 255, 255, 255)  # white ink, clear background
    white = inputs.grey_on_paper(Image.fromarray(rgba, "RGBA"))
    rgba[stroke] = (0, 0, 0, 255)  # black ink, clear background
    black = inputs.grey_on_paper(Image.fromarray(rgba, "RGBA"))
    np.testing.assert_allclose(inputs.ink(white), inputs.ink(black))
    assert inputs.ink(white)[stroke].min() == 1.0 and not inputs.ink(white)[~stroke].any()


def test_a_canvas_digit_becomes_the_mnist_digit_it_was_drawn_from(digits):
    x, _ = digits
    for digit in x[:20]:
        got = inputs.prepare(canvas_of(digit), (28, 28, 1), "digits", (0.0, 1.0), "canvas")
        assert got.shape == (28, 28, 1) and got.dtype == np.float32
        assert np.abs(got[..., 0] - digit / 255).mean() < 0.06
        y0, y1, x0, x1 = ink_box(got[..., 0] > 0)
        assert max(y1 - y0, x1 - x0) == 20  # MNIST's 20x20 box
        cy, cx = centre_of_mass(got[..., 0])
        assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5


def test_a_digit_drawn_small_in_a_corner_is_centred_as_one_drawn_large(digits):
    x, _ = digits
    large = inputs.prepare(canvas_of(x[3]), (28, 28, 1), "digits", (0.0, 1.0))
    small = inputs.prepare(canvas_of(x[3], 140, at=(130, 10)), (28, 28, 1), "digits",
                           (0.0, 1.0))
    assert np.abs(large - small).mean() < 0.03
    assert centre_of_mass(small[..., 0]) == pytest.approx(centre_of_mass(large[..., 0]),
                                                          abs=0.5)


def test_prepare_gives_the_models_units():
    img = canvas_of(sample()[1][0][0])
    unit = inputs.prepare(img, (28, 28, 1), "digits", (0.0, 1.0))
    raw = inputs.prepare(img, (28, 28, 1), "digits", (0.0, 255.0))
    np.testing.assert_allclose(raw, unit * 255, rtol=1e-6)


def test_an_empty_canvas_or_an_upload_without_ink_is_refused():
    blank = Image.new("RGBA", (280, 280), "white")
    with pytest.raises(ValueError, match="the canvas is empty; draw a digit first"):
        inputs.prepare(blank, (28, 28, 1), "digits", (0.0, 1.0), "canvas")
    with pytest.raises(ValueError, match="the canvas is empty; draw a letter first"):
        inputs.prepare(Image.new("RGBA", (9, 9), (0, 0, 0, 0)), (28, 28, 1), "letters",
                       (0.0, 1.0), "canvas")
    with pytest.raises(ValueError, match="the image has no ink to read"):
        inputs.prepare(blank, (28, 28, 1), "digits", (0.0, 1.0), "upload")
    with pytest.raises(ValueError, match="the canvas is empty"):
        inputs.prepare(blank, (32, 32, 3), "images", (0.0, 1.0), "canvas")
    flat = inputs.prepare(blank, (32, 32, 3), "images", (0.0, 1.0), "upload")
    assert flat.shape == (32, 32, 3) and (flat == 1.0).all()  # a blank photo is a photo


def test_images_are_resized_in_colour_or_grey():
    a = np.zeros((60, 90, 3), np.uint8)
    a[:, :45] = (255, 0, 0)
    a[:, 45:] = (0, 0, 255)
    img = Image.fromarray(a)
    rgb = inputs.prepare(img, (8, 12, 3), "images", (0.0, 1.0))
    assert rgb.shape == (8, 12, 3)
    np.testing.assert_allclose(rgb[:, 0], [[1, 0, 0]] * 8, atol=1e-6)
    np.testing.assert_allclose(rgb[:, -1], [[0, 0, 1]] * 8, atol=1e-6)
    grey = inputs.prepare(img, (8, 12, 1), "images", (0.0, 255.0))
    assert grey.shape == (8, 12, 1)
    assert grey[0, 0, 0] == pytest.approx(0.299 * 255, abs=0.5)
    with pytest.raises(ValueError, match="takes 2 channels per pixel"):
        inputs.prepare(img, (8, 12, 2), "images", (0.0, 1.0))


def test_display_and_png_url_show_the_input_scaled_up():
    x = np.linspace(0, 1, 28 * 28, dtype=np.float32).reshape(28, 28, 1)
    pixels = inputs.display(x, (0.0, 1.0))
    assert pixels.shape == (28, 28) and pixels[0, 0] == 0 and pixels[-1, -1] == 255
    url = inputs.png_url(pixels, inputs.scale_for(x.shape))
    img = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert img.size == (140, 140)
    assert np.asarray(img)[139, 139] == 255 and np.asarray(img)[0, 4] == 0
    assert inputs.scale_for((32, 32, 3)) == 5 and inputs.scale_for((200, 300)) == 1
