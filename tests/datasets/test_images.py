import io
import sys
import tarfile

import numpy as np
import pytest

from svertka.datasets import image_dataset, image_folder, load_image
from svertka.errors import DataFileError

Image = pytest.importorskip("PIL.Image")


def save(path, size=(6, 4), color=(255, 0, 0), mode="RGB", fmt=None):
    """An image of ``size`` = (W, H) filled with ``color``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, color).save(path, format=fmt)
    return path


def make_tree(root, classes=("cat", "dog"), per_class=2, size=(6, 4)):
    for c, name in enumerate(classes):
        for i in range(per_class):
            save(root / name / f"{i}.png", size, (c * 100, i * 10, 7))
    return root


def test_image_folder_labels_by_sorted_class_folder(tmp_path):
    make_tree(tmp_path, classes=("zebra", "ant"))
    x, y, names = image_folder(tmp_path)
    assert names == ["ant", "zebra"]
    assert x.shape == (4, 4, 6, 3) and x.dtype == np.uint8
    assert sorted(y.tolist()) == [0, 0, 1, 1] and y.dtype == np.uint8
    assert [100, 0, 7] in x[y == 0][:, 0, 0].tolist()  # ant/0.png (drawn second by make_tree)
    assert [0, 0, 7] in x[y == 1][:, 0, 0].tolist()  # zebra/0.png


def test_every_image_is_resized_to_image_size_whatever_its_aspect(tmp_path):
    save(tmp_path / "a" / "wide.png", (40, 10))
    save(tmp_path / "b" / "tall.jpg", (9, 30))
    x, y, _ = image_folder(tmp_path, image_size=(8, 8))
    assert x.shape == (2, 8, 8, 3)
    np.testing.assert_allclose(x[0].reshape(-1, 3).mean(0), [255, 0, 0], atol=1)


def test_grayscale_and_rgba_modes_give_one_and_four_channels(tmp_path):
    make_tree(tmp_path)
    assert image_folder(tmp_path, color_mode="grayscale")[0].shape == (4, 4, 6, 1)
    assert image_folder(tmp_path, color_mode="rgba")[0].shape == (4, 4, 6, 4)
    with pytest.raises(ValueError, match="'color_mode' must be one of"):
        image_folder(tmp_path, color_mode="cmyk")


def test_images_of_different_sizes_need_image_size(tmp_path):
    save(tmp_path / "a" / "1.png", (6, 4))
    save(tmp_path / "a" / "2.png", (5, 4))
    with pytest.raises(ValueError, match=r"a/2\.png is 4x5 but .*a/1\.png is 4x6.*image_size"):
        image_folder(tmp_path)


def test_unreadable_image_is_a_value_error_naming_the_file(tmp_path):
    make_tree(tmp_path)
    (tmp_path / "dog" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(DataFileError, match=r"cannot decode the image .*dog/broken\.png"):
        image_folder(tmp_path)


def test_truncated_jpeg_is_a_value_error_not_a_grey_image(tmp_path):
    path = tmp_path / "a" / "cut.jpg"
    save(path, (64, 64), (10, 200, 30))
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(ValueError, match="cut.jpg"):
        image_folder(tmp_path)


def test_hidden_and_non_image_files_are_skipped(tmp_path):
    make_tree(tmp_path)
    (tmp_path / "cat" / "notes.txt").write_text("not an image")
    (tmp_path / "cat" / "._0.png").write_bytes(b"macOS resource fork")
    (tmp_path / "README.md").write_text("hello")
    x, _, names = image_folder(tmp_path)
    assert len(x) == 4 and names == ["cat", "dog"]


def test_class_names_fix_the_order_and_reject_strangers(tmp_path):
    make_tree(tmp_path, classes=("cat", "dog"))
    _, y, names = image_folder(tmp_path, class_names=["dog", "cat", "eel"])
    assert names == ["dog", "cat", "eel"] and sorted(y.tolist()) == [0, 0, 1, 1]
    with pytest.raises(ValueError, match=r"class folders \['dog'\] that are not in"):
        image_folder(tmp_path, class_names=["cat"])


def test_folder_without_class_folders_is_an_error(tmp_path):
    save(tmp_path / "loose.png")
    with pytest.raises(ValueError, match="no class folders"):
        image_folder(tmp_path)
    with pytest.raises(FileNotFoundError):
        image_folder(tmp_path / "nowhere")


def _tar(tmp_path, root, name="tree.tar.gz", arcname="wrapper"):
    archive = tmp_path / name
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(root, arcname=arcname)
    return archive


def test_image_dataset_reads_train_and_test_from_a_folder_or_an_archive(tmp_path):
    make_tree(tmp_path / "d" / "train", classes=("a", "b"), per_class=3)
    make_tree(tmp_path / "d" / "test", classes=("b", "c"), per_class=1)
    archive = _tar(tmp_path, tmp_path / "d")  # inside one wrapping folder
    for source in (tmp_path / "d", archive):
        (x_train, y_train), (x_test, y_test), names = image_dataset(source)
        assert names == ["a", "b", "c"]  # the union, so labels agree between the splits
        assert x_train.shape == (6, 4, 6, 3) and sorted(y_train.tolist()) == [0, 0, 0, 1, 1, 1]
        assert x_test.shape == (2, 4, 6, 3) and sorted(y_test.tolist()) == [1, 2]


def test_image_dataset_without_splits_is_all_training_data(tmp_path):
    make_tree(tmp_path, per_class=1)
    (x_train, y_train), (x_test, y_test), names = image_dataset(tmp_path, image_size=5)
    assert x_train.shape == (2, 5, 5, 3) and x_test.shape == (0, 5, 5, 3)
    assert y_test.shape == (0,) and names == ["cat", "dog"]


def test_split_image_sizes_must_agree(tmp_path):
    make_tree(tmp_path / "train", size=(6, 4))
    make_tree(tmp_path / "test", size=(5, 5))
    with pytest.raises(ValueError, match="train images .* are 4x6, the test images 5x5"):
        image_dataset(tmp_path)
    assert image_dataset(tmp_path, image_size=(3, 3))[1][0].shape == (4, 3, 3, 3)


def test_a_damaged_archive_is_a_data_file_error_naming_it(tmp_path):
    make_tree(tmp_path / "d")
    archive = _tar(tmp_path, tmp_path / "d")
    archive.write_bytes(archive.read_bytes()[:200])
    with pytest.raises(DataFileError, match=f"{archive}: .*truncated"):
        image_folder(archive)


def test_load_image_for_predict(tmp_path):
    path = save(tmp_path / "x.jpg", (50, 20), (0, 0, 255))
    image = load_image(path, image_size=(28, 28))
    assert image.shape == (28, 28, 3) and image.dtype == np.uint8
    assert abs(int(image[..., 2].mean()) - 254) <= 2
    assert load_image(path, color_mode="grayscale").shape == (20, 50, 1)
    with pytest.raises(FileNotFoundError, match="no image file"):
        load_image(tmp_path / "missing.png")
    with pytest.raises(ValueError, match="'image_size' must be"):
        load_image(path, image_size=(0, 3))


def test_exif_orientation_is_applied(tmp_path):
    image = Image.new("RGB", (6, 2), (0, 0, 0))
    exif = image.getexif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif.tobytes())
    (tmp_path / "r.jpg").write_bytes(buffer.getvalue())
    assert load_image(tmp_path / "r.jpg").shape == (6, 2, 3)


def test_without_pillow_the_error_says_what_to_install(tmp_path, monkeypatch):
    save(tmp_path / "x.png")
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(ImportError, match=r"pip install svertka\[images\]"):
        load_image(tmp_path / "x.png")


def test_image_folder_interleaves_classes_so_a_tail_split_holds_every_class(tmp_path):
    pytest.importorskip("PIL")
    from PIL import Image

    for name in ("a", "b", "c"):
        (tmp_path / name).mkdir()
        for i in range(10):
            Image.fromarray(np.full((4, 4), i, np.uint8)).save(tmp_path / name / f"{i}.png")
    x, y, names = image_folder(tmp_path, color_mode="grayscale")
    assert names == ["a", "b", "c"] and len(y) == 30
    assert set(y[-6:].tolist()) == {0, 1, 2}  # the last 20% is not one class
    x2, y2, _ = image_folder(tmp_path, color_mode="grayscale")
    np.testing.assert_array_equal(y, y2)  # the same order on every load
    np.testing.assert_array_equal(x, x2)
