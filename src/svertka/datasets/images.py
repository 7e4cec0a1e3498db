"""Images from files: one image (:func:`load_image`), a folder-per-class tree
(:func:`image_folder`) and a tree with ``train/`` and ``test/`` splits (:func:`image_dataset`).

A tree is a folder or a ``.tar``/``.tar.gz``/``.tgz`` archive of one, read in place (the
archive is streamed once, never extracted, and used only when read to its end).
``root/<class>/<any depth>/<image>``: the class of an image is its first folder below
``root``; class names are the sorted folder names holding at least one image, so labels are
their indices. Files without an image extension and hidden files (``.DS_Store``,
``._x.jpg``) are skipped.

Arrays are uint8 (N, H, W, C), channels-last, C = 3 (``'rgb'``), 1 (``'grayscale'``) or 4
(``'rgba'``). With ``image_size=(H, W)`` every image is resized to it, whatever its size or
aspect ratio ("just scale it", SPEC §10); with ``image_size=None`` all images must share one
size. Decoding needs Pillow: ``pip install svertka[images]``.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

import numpy as np
from tqdm import tqdm

from svertka.datasets.files import read_tar
from svertka.errors import DataFileError

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff",
                              ".ppm", ".pgm", ".pbm"})
ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz")
COLOR_MODES = {"rgb": ("RGB", 3), "grayscale": ("L", 1), "rgba": ("RGBA", 4)}
_PROGRESS_FROM = 10_000


def _pil():
    try:
        from PIL import Image, ImageOps
    except ImportError as e:
        raise ImportError("svertka.datasets: reading images needs Pillow; install it with "
                          "`pip install svertka[images]`") from e
    return Image, ImageOps


def open_image(source: bytes | str | os.PathLike, what: str, where: str, check_size=None):
    """One image given by a user (an image file's bytes, or its path) decoded as a PIL image,
    upright by its EXIF orientation. ``check_size((w, h))`` runs on the header's size before
    anything is decoded and may raise. Whatever Pillow cannot read becomes a ValueError that
    names ``where`` and ``what`` (how the message calls the image) and says what was received:
    not an image, a damaged one, or one declaring more pixels than Pillow decodes.

    (``decode_image`` reads the images of a data set and answers with ``DataFileError``.)
    """
    Image, ImageOps = _pil()
    from PIL import UnidentifiedImageError

    if isinstance(source, bytes):
        size, head = len(source), source[:16]
    else:
        size = os.path.getsize(source)
        with open(source, "rb") as f:
            head = f.read(16)
    received = f"received {size:,} bytes starting with {head!r}"
    try:
        with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as img:
            if check_size is not None:
                check_size(img.size)
            img.load()  # decodes fully now, so a truncated file fails here and not later
            return ImageOps.exif_transpose(img)
    except UnidentifiedImageError:
        raise ValueError(f"{where}: {what} is not an image Pillow can read ({received}); use a "
                         f"PNG, JPEG, GIF, BMP, TIFF or WebP file") from None
    except Image.DecompressionBombError as e:
        raise ValueError(f"{where}: {what} declares more pixels than Pillow will decode "
                         f"({e})") from None
    except (OSError, SyntaxError) as e:  # a damaged file, found while decoding it
        raise ValueError(f"{where}: {what} is a damaged image ({e}; {received})") from None


def _size(image_size, fn: str) -> tuple[int, int] | None:
    if image_size is None:
        return None
    hw = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
    if len(hw) != 2 or not all(isinstance(v, (int, np.integer)) and v > 0 for v in hw):
        raise ValueError(f"{fn}: argument 'image_size' must be None, an int or (H, W) of "
                         f"positive ints, received {image_size!r}")
    return int(hw[0]), int(hw[1])


def _mode(color_mode: str, fn: str) -> tuple[str, int]:
    if color_mode not in COLOR_MODES:
        raise ValueError(f"{fn}: argument 'color_mode' must be one of {', '.join(COLOR_MODES)}, "
                         f"received {color_mode!r}")
    return COLOR_MODES[color_mode]


RESAMPLING = ("nearest", "bilinear", "bicubic", "lanczos")


def decode_image(source: bytes | str | os.PathLike, name: str, size: tuple[int, int] | None,
                 color_mode: str = "rgb", fn: str = "decode_image",
                 interpolation: str = "bilinear") -> np.ndarray:
    """One image (H, W, C) uint8 from a file or its bytes, resized to ``size`` (H, W) by
    ``interpolation`` when given; a DataFileError naming ``name`` if it is not a complete
    image. EXIF orientation is applied, as a photo viewer shows the image.

    An image declaring more pixels than ``PIL.Image.MAX_IMAGE_PIXELS`` is refused before it is
    decoded (Pillow itself only warns below twice that).
    """
    Image, ImageOps = _pil()
    pil_mode, channels = _mode(color_mode, fn)
    if interpolation not in RESAMPLING:
        raise ValueError(f"{fn}: argument 'interpolation' must be one of "
                         f"{', '.join(RESAMPLING)}, received {interpolation!r}")
    try:
        with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as im:
            limit = Image.MAX_IMAGE_PIXELS
            if limit is not None and im.size[0] * im.size[1] > limit:
                raise DataFileError(f"{fn}: the image {name} declares {im.size[0]}x"
                                    f"{im.size[1]} pixels, more than PIL.Image.MAX_IMAGE_PIXELS "
                                    f"({limit:,}): a damaged header or a decompression bomb")
            im.load()  # decodes fully now, so a truncated file fails here and not later
            if im.format in ("JPEG", "TIFF", "WEBP", "PNG") and im.getexif().get(0x0112, 1) != 1:
                im = ImageOps.exif_transpose(im)
            if im.mode != pil_mode:
                im = im.convert(pil_mode)
            if size is not None and im.size != (size[1], size[0]):
                method = getattr(getattr(Image, "Resampling", Image), interpolation.upper())
                im = im.resize((size[1], size[0]), method)
            x = np.asarray(im, dtype=np.uint8)
    except DataFileError:
        raise
    except Exception as e:  # noqa: BLE001 - Pillow's decoders raise many types on bad input
        raise DataFileError(f"{fn}: cannot decode the image {name}: "
                            f"{type(e).__name__}: {e}") from e
    return x.reshape(x.shape[0], x.shape[1], channels)


def load_image(path: str | os.PathLike, image_size=None, color_mode: str = "rgb") -> np.ndarray:
    """One image file as uint8 (H, W, C), resized to ``image_size`` (H, W) when given.

    >>> import tempfile
    >>> from PIL import Image
    >>> path = Path(tempfile.mkdtemp()) / "red.png"
    >>> Image.new("RGB", (40, 30), (255, 0, 0)).save(path)
    >>> load_image(path, image_size=(28, 28), color_mode="grayscale").shape
    (28, 28, 1)
    """
    size = _size(image_size, "load_image")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"load_image: no image file at {path}")
    return decode_image(path, str(path), size, color_mode, "load_image")


def is_archive(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a file named like a tar archive (``.tar``, ``.tar.gz``, ``.tgz``)."""
    return Path(path).is_file() and str(path).lower().endswith(ARCHIVE_SUFFIXES)


def _wanted(rel: PurePosixPath, extensions: frozenset[str]) -> bool:
    return (rel.suffix.lower() in extensions
            and not any(part.startswith(".") for part in rel.parts))


def read_tree(path: str | os.PathLike,
              extensions: frozenset[str] = IMAGE_EXTENSIONS) -> dict[str, Path | bytes]:
    """The image files of a folder or tar archive: relative POSIX path -> file path or bytes.

    ``extensions`` (lower case, with the dot) selects the files kept. An archive is read to its
    end or not at all (:func:`~svertka.datasets.files.read_tar`): a truncated or damaged one is
    a DataFileError, never part of a tree.
    """
    path = Path(path)
    files: dict[str, Path | bytes] = {}
    if path.is_dir():
        for p in path.rglob("*"):
            rel = PurePosixPath(p.relative_to(path).as_posix())
            if _wanted(rel, extensions) and p.is_file():
                files[str(rel)] = p
    elif is_archive(path):
        files.update(read_tar(path, lambda rel: _wanted(rel, extensions)))
    elif path.exists():
        raise ValueError(f"read_tree: {path} must be a folder or a .tar/.tar.gz/.tgz archive")
    else:
        raise FileNotFoundError(f"read_tree: no folder or archive at {path}")
    return dict(sorted(files.items()))


def split_tree(files: dict[str, Path | bytes]) -> dict[str, dict[str, Path | bytes]] | None:
    """``{'train': ..., 'test': ...}`` sub-trees when the tree has ``train/`` or ``test/`` at
    its top (or under one wrapping folder, as archives often have); None otherwise."""
    for depth in (0, 1):
        splits: dict[str, dict[str, Path | bytes]] = {"train": {}, "test": {}}
        for rel, src in files.items():
            parts = rel.split("/")
            if len(parts) > depth + 2 and parts[depth] in splits:
                splits[parts[depth]]["/".join(parts[depth + 1:])] = src
        if splits["train"] or splits["test"]:
            return splits
    return None


def classes_of(files: dict[str, Path | bytes]) -> list[str]:
    """Sorted names of the top-level folders holding images."""
    return sorted({rel.split("/")[0] for rel in files if "/" in rel})


def images_from_tree(files: dict[str, Path | bytes], where: str, image_size=None,
                     color_mode: str = "rgb", class_names: Sequence[str] | None = None,
                     fn: str = "image_folder"):
    """``(x, y, class_names)`` from a tree listing as :func:`read_tree` gives it."""
    size = _size(image_size, fn)
    _, channels = _mode(color_mode, fn)
    names = list(class_names) if class_names is not None else classes_of(files)
    index = {name: i for i, name in enumerate(names)}
    items = [(rel, src) for rel, src in files.items() if "/" in rel]
    # A tree lists its images class by class; a fixed shuffle interleaves the classes, so that
    # a validation split taken from the end (as Keras takes it) holds every class. Same order
    # on every load.
    items = [items[i] for i in np.random.default_rng(0).permutation(len(items))]
    strangers = sorted({rel.split("/")[0] for rel, _ in items} - set(index))
    if strangers:
        raise ValueError(f"{fn}: {where} has class folders {strangers} that are not in "
                         f"class_names {names}")
    label_dtype = np.uint8 if len(names) <= 256 else np.int32
    y = np.array([index[rel.split("/")[0]] for rel, _ in items], dtype=label_dtype)
    if not items:
        hw = size or (0, 0)
        return np.empty((0, *hw, channels), np.uint8), y, names
    x = None
    for i, (rel, src) in enumerate(tqdm(items, desc="decoding images", unit="img", leave=False,
                                        disable=len(items) < _PROGRESS_FROM)):
        image = decode_image(src, f"{where}/{rel}", size, color_mode, fn)
        if x is None:
            x, first = np.empty((len(items), *image.shape), np.uint8), rel
        elif image.shape != x.shape[1:]:
            raise ValueError(f"{fn}: {where}/{rel} is {image.shape[0]}x{image.shape[1]} but "
                             f"{where}/{first} is {x.shape[1]}x{x.shape[2]}; pass "
                             "image_size=(H, W) to resize every image to one size")
        x[i] = image
    return x, y, names


def image_folder(path: str | os.PathLike, image_size=None, color_mode: str = "rgb",
                 class_names: Sequence[str] | None = None):
    """``(x, y, class_names)`` of a folder-per-class tree (a folder or a tar archive).

    ``x`` is uint8 (N, H, W, C), ``y`` holds indices into ``class_names`` (uint8 up to 256
    classes, int32 beyond). ``class_names`` fixes the classes and their order (e.g. the
    training split's for a test split); by default it is the sorted class-folder names.

    >>> import tempfile
    >>> from PIL import Image
    >>> root = Path(tempfile.mkdtemp())
    >>> for cls in ("cat", "dog"):
    ...     (root / cls).mkdir()
    ...     Image.new("RGB", (8, 6)).save(root / cls / "1.png")
    >>> x, y, names = image_folder(root, image_size=(4, 4))
    >>> x.shape, y.tolist(), names
    ((2, 4, 4, 3), [0, 1], ['cat', 'dog'])
    """
    files = read_tree(path)
    if not any("/" in rel for rel in files):
        raise ValueError(f"image_folder: {path} holds no class folders with images "
                         f"({', '.join(sorted(IMAGE_EXTENSIONS))})")
    return images_from_tree(files, str(path), image_size, color_mode, class_names)


def image_dataset(path: str | os.PathLike, image_size=None, color_mode: str = "rgb",
                  class_names: Sequence[str] | None = None):
    """``(x_train, y_train), (x_test, y_test), class_names`` of an image tree.

    With ``train/`` and ``test/`` folders (at the top, or under one wrapping folder in an
    archive), each is a folder-per-class tree and the classes are the union of both, so a
    label means the same in either split. Without them the whole tree is the training split
    and the test split is empty, (0, H, W, C).
    """
    files = read_tree(path)
    splits = split_tree(files) or {"train": files, "test": {}}
    names = list(class_names) if class_names is not None else sorted(
        set(classes_of(splits["train"])) | set(classes_of(splits["test"])))
    if not names:
        raise ValueError(f"image_dataset: {path} holds no class folders with images "
                         f"({', '.join(sorted(IMAGE_EXTENSIONS))})")
    out = {}
    for split, tree in splits.items():
        where = str(path) if tree is files else f"{path}/{split}"
        out[split] = images_from_tree(tree, where, image_size, color_mode, names,
                                      "image_dataset")[:2]
    (x_train, y_train), (x_test, y_test) = out["train"], out["test"]
    if len(x_train) and len(x_test) and x_train.shape[1:] != x_test.shape[1:]:
        raise ValueError(f"image_dataset: the train images of {path} are "
                         f"{x_train.shape[1]}x{x_train.shape[2]}, the test images "
                         f"{x_test.shape[1]}x{x_test.shape[2]}; pass image_size=(H, W)")
    if len(x_train) == 0 and len(x_test):  # an empty split takes the other's image shape
        x_train = np.empty((0, *x_test.shape[1:]), np.uint8)
    if len(x_test) == 0 and len(x_train):
        x_test = np.empty((0, *x_train.shape[1:]), np.uint8)
    return (x_train, y_train), (x_test, y_test), names
