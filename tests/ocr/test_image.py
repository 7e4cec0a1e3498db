"""Loading images, polarity, and the local threshold against uneven lighting."""

import numpy as np
import pytest

pytest.importorskip("skimage")
Image = pytest.importorskip("PIL.Image")

from svertka.ocr.image import dark_ink, ink_mask, load_grey  # noqa: E402


def page_with_bars(shape=(120, 200)):
    page = np.ones(shape, np.float32)
    truth = np.zeros(shape, bool)
    for k in range(6):
        truth[30:90, 20 + 30 * k: 26 + 30 * k] = True
    page[truth] = 0.15
    return page, truth


def test_local_threshold_finds_the_ink_under_a_strong_lighting_gradient():
    page, truth = page_with_bars()
    light = np.linspace(1.0, 0.12, page.shape[1], dtype=np.float32)[None, :]
    lit = page * light  # the paper at the right is darker than the ink at the left
    m = ink_mask(lit)
    assert (m == truth).mean() > 0.995
    # no global threshold can do it
    best_global = max(((lit < t) == truth).mean() for t in np.unique(lit))
    assert best_global < 0.99


def test_polarity_is_detected_and_both_give_the_same_ink():
    page, truth = page_with_bars()
    assert dark_ink(page) and not dark_ink(1 - page)
    np.testing.assert_array_equal(ink_mask(page), ink_mask(1 - page))
    np.testing.assert_array_equal(ink_mask(1 - page, polarity="light"), ink_mask(page))


def test_noise_on_blank_paper_is_not_ink():
    rng = np.random.default_rng(0)
    page, truth = page_with_bars()
    noisy = np.clip(page + rng.normal(0, 0.05, page.shape), 0, 1).astype(np.float32)
    m = ink_mask(noisy)
    assert m[~truth].mean() < 0.002 and m[truth].mean() > 0.97
    bare = np.clip(1 - np.abs(rng.normal(0, 0.05, (50, 50))), 0, 1).astype(np.float32)
    assert ink_mask(bare).mean() < 0.002  # paper grain alone, no text


@pytest.mark.parametrize("value", [0.0, 1.0, 0.5])
def test_a_uniform_page_has_no_ink(value):
    assert not ink_mask(np.full((30, 30), value, np.float32)).any()


def test_every_kind_of_input_gives_the_same_grey(tmp_path):
    rgb = np.zeros((4, 5, 3), np.uint8)
    rgb[1, 2] = (255, 255, 255)
    grey = load_grey(rgb)
    assert grey.shape == (4, 5) and grey[1, 2] == pytest.approx(1.0) and grey[0, 0] == 0
    Image.fromarray(rgb).save(tmp_path / "a.png")
    np.testing.assert_allclose(load_grey(tmp_path / "a.png"), grey, atol=1 / 255)
    np.testing.assert_allclose(load_grey(Image.fromarray(rgb)), grey, atol=1 / 255)
    np.testing.assert_allclose(load_grey(grey), grey)
    rgba = np.zeros((4, 5, 4), np.uint8)  # fully transparent: paper
    assert load_grey(rgba).min() == pytest.approx(1.0)


def test_bad_inputs_are_refused_with_what_was_received(tmp_path):
    (tmp_path / "notes.txt").write_text("not an image")
    with pytest.raises(ValueError, match=r"read: .*notes.txt' is not an image"):
        load_grey(tmp_path / "notes.txt")
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ValueError, match=r"not an image"):
        load_grey(tmp_path / "empty.png")
    good = tmp_path / "cut.png"
    Image.fromarray(np.zeros((64, 64), np.uint8) + 9).save(good)
    (tmp_path / "cut2.png").write_bytes(good.read_bytes()[:60])
    with pytest.raises(ValueError, match=r"damaged|not an image"):
        load_grey(tmp_path / "cut2.png")
    with pytest.raises(FileNotFoundError, match=r"does not exist"):
        load_grey(tmp_path / "missing.png")
    with pytest.raises(ValueError, match=r"empty \(0x3 pixels\)"):
        load_grey(np.zeros((3, 0), np.uint8))
    with pytest.raises(ValueError, match=r"shape \(2, 2, 2\)"):
        load_grey(np.zeros((2, 2, 2), np.uint8))
    with pytest.raises(TypeError, match=r"must be uint8, bool or float, received int64"):
        load_grey(np.zeros((2, 2), np.int64))
    with pytest.raises(ValueError, match=r"grey levels in \[0, 1\]"):
        load_grey(np.full((2, 2), 7.0))
    with pytest.raises(TypeError, match=r"received list"):
        load_grey([[0, 1]])


def test_a_huge_image_is_refused_before_it_is_decoded(tmp_path):
    big = tmp_path / "big.png"
    Image.new("1", (9_000, 8_000), 1).save(big)  # 72 million pixels, a small file
    with pytest.raises(ValueError, match=r"9000x8000 = 72,000,000 pixels, more than the "
                                         r"limit of 50,000,000 \(argument 'max_pixels'"):
        load_grey(big)
    assert load_grey(big, max_pixels=10**8).shape == (8_000, 9_000)
    huge = tmp_path / "huge.png"
    Image.new("1", (20_000, 20_000), 1).save(huge)  # past Pillow's own bomb limit too
    with pytest.raises(ValueError, match=r"huge.png' declares more pixels than Pillow"):
        load_grey(huge, max_pixels=10**9)
    with pytest.raises(ValueError, match=r"20000x20000 = 400,000,000 pixels"):
        load_grey(Image.new("1", (20_000, 20_000)))
