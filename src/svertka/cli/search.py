"""``svertka index MODEL DATA -o idx`` and ``svertka search IDX IMAGE --k 8 -o sheet.png``:
search for similar images by a trained network's descriptors (SPEC §10, ``svertka.search``).

MODEL is a saved model file (``.svk``) or a zoo network with shipped weights (``lenet5:mnist``,
``resnet20:cifar10``). DATA is an image folder (every image in the tree; an image's label is
its folder's name) or a data set name (its test split; image ``i`` is then named
``mnist:test/i``). The index remembers the model (its file or name, layer, input shape and a
fingerprint of its weights); ``svertka search`` embeds the query with that model and refuses
another one given with ``--model``. IMAGE is an image file or ``DATASET:test/N``.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from svertka import checks, zoo


def add_parser(sub) -> None:
    """Register ``index`` and ``search`` on the ``svertka`` parser's sub-parsers."""
    p = sub.add_parser("index", help="embed a folder or a data set's test split for search",
                       description=index.__doc__)
    p.add_argument("model", help=f"a saved model file, or a zoo network with shipped weights: "
                                 f"{', '.join(zoo.weights.specs())}")
    p.add_argument("data", help="an image folder, or a data set name (its test split)")
    p.add_argument("-o", "--output", required=True, help="the index file to write (.npz)")
    p.add_argument("--layer", default="-2",
                   help="the layer giving the descriptors: a name or an index (default -2, "
                        "the one before the classifier)")
    p.add_argument("--pool", default="avg", choices=("avg", "max", "flatten"),
                   help="how a 4-D feature map becomes a vector")
    p.add_argument("--data-dir", default=None, help="folder holding the data set's files")
    p.add_argument("--limit", type=int, default=None, help="index only the first N images")
    p.add_argument("--batch-size", type=int, default=256)
    p.set_defaults(run=index)

    p = sub.add_parser("search", help="the images of an index most similar to an image",
                       description=search.__doc__)
    p.add_argument("index", help="an index file made by 'svertka index'")
    p.add_argument("image", help="an image file, or DATASET:test/N (e.g. mnist:test/0)")
    p.add_argument("--k", type=int, default=8, help="neighbours to show")
    p.add_argument("--model", default=None,
                   help="the model to embed the query with (default: the index's own; "
                        "another one is refused)")
    p.add_argument("--data-dir", default=None, help="folder holding the data set's files")
    p.add_argument("-o", "--output", default=None,
                   help="a contact sheet (PNG) of the query and its neighbours with scores")
    p.set_defaults(run=search)


def _source(spec: str) -> str:
    """How the index records its model: a file by its absolute path, a zoo name as given."""
    return os.path.abspath(spec) if Path(spec).is_file() else spec


def read_images(data: str, shape, data_dir=None, limit=None, where: str = "index"):
    """(x uint8 (N, H, W, C) or (N, H, W), labels, paths, class names) of a folder tree
    (resized to ``shape``) or of a data set's test split."""
    import numpy as np

    from svertka import datasets
    from svertka.datasets.images import decode_image, read_tree

    if not Path(data).is_dir():
        if datasets.registry.canonical_name(data) is None:
            raise ValueError(f"{where}: argument DATA must be an image folder or a data set "
                             f"name ({', '.join(datasets.NAMES)}), received {data!r}")
        _, (x, y), names = datasets.load(data, path=data_dir)
        name = datasets.registry.canonical_name(data)
        n = len(x) if limit is None else min(limit, len(x))
        return x[:n], np.asarray(y).reshape(-1)[:n], [f"{name}:test/{i}" for i in range(n)], \
            [str(c) for c in names]
    files = list(read_tree(data).items())[:limit]
    if not files:
        raise ValueError(f"{where}: the folder {data} holds no images")
    mode = "grayscale" if shape[-1] == 1 else "rgb"
    x = np.stack([decode_image(src, f"{data}/{rel}", tuple(shape[:2]), mode, where)
                  for rel, src in files])
    folders = [rel.rsplit("/", 1)[0].rsplit("/", 1)[-1] if "/" in rel else "" for rel, _ in files]
    names = sorted(set(folders))
    y = np.array([names.index(f) for f in folders], np.int64)
    return x, y, [os.path.abspath(src) for _, src in files], names


def read_image(spec: str, shape, data_dir=None, where: str = "search"):
    """One image (H, W, C) uint8 from a file, or ``DATASET:test/N``."""
    from svertka import datasets
    from svertka.datasets.images import load_image

    if Path(spec).is_file():
        mode = "grayscale" if shape[-1] == 1 else "rgb"
        return load_image(spec, image_size=tuple(shape[:2]), color_mode=mode)
    name, _, rest = spec.partition(":test/")
    if datasets.registry.canonical_name(name) is None or not rest.isdigit():
        raise ValueError(f"{where}: argument IMAGE must be an image file or DATASET:test/N "
                         f"(e.g. mnist:test/0), received {spec!r} (no such file)")
    x = _test_images(datasets.registry.canonical_name(name), data_dir)
    if int(rest) >= len(x):
        raise ValueError(f"{where}: argument IMAGE asks for image {rest} of {name}'s test "
                         f"split, which has {len(x)}")
    return x[int(rest)]


@functools.lru_cache(maxsize=2)
def _test_images(name: str, data_dir):
    """A data set's test images, read once for a query and all its neighbours."""
    from svertka import datasets

    return datasets.load(name, path=data_dir)[1][0]


def index(args) -> None:
    """Embed every image of a folder (or a data set's test split) with a trained network and
    save the L2-normalised descriptors, labels and paths as an index (no pickle)."""
    from svertka.search import Index

    for option, value in (("--limit", args.limit), ("--batch-size", args.batch_size)):
        if value is not None:
            checks.positive_int("index", option, value)
    model = zoo.from_spec(args.model, "index", "MODEL")
    layer = int(args.layer) if args.layer.lstrip("-").isdigit() else args.layer
    x, y, paths, names = read_images(args.data, model.input_shape[1:], args.data_dir,
                                     args.limit)
    idx = Index.from_images(model, x, y, paths, layer=layer, pool=args.pool,
                            source=_source(args.model), batch_size=args.batch_size,
                            metadata={"class_names": names, "data": args.data})
    idx.save(args.output)
    record = idx.metadata["model"]
    print(f"Indexed {len(idx):,} images of {args.data} by {record['source']} (layer "
          f"{record['layer']!r}, {idx.dim} values each) into {args.output}")


def search(args) -> None:
    """Print the images of an index most similar to IMAGE (cosine of the descriptors of the
    index's own model), with their scores; with -o, draw a contact sheet."""
    from svertka.search import Index

    checks.positive_int("search", "--k", args.k)
    idx = Index.load(args.index)
    record = idx.metadata.get("model") or {}
    if not record.get("source"):
        raise ValueError(f"search: the index {args.index} does not record its model; make it "
                         f"with 'svertka index'")
    model = zoo.from_spec(args.model or record["source"], "search", "MODEL")
    image = read_image(args.image, model.input_shape[1:], args.data_dir)
    scores, ids = idx.query_images(model, image[None], args.k)
    names = idx.metadata.get("class_names") or []
    rows = []
    print(f"Nearest {ids.shape[1]} of {len(idx):,} to {args.image}:")
    for rank, (s, i) in enumerate(zip(scores[0], ids[0]), 1):
        label = "" if idx.labels is None else str(idx.labels[i])
        if idx.labels is not None and 0 <= idx.labels[i] < len(names):
            label = names[idx.labels[i]]
        path = "" if idx.paths is None else str(idx.paths[i])
        rows.append((float(s), label, path))
        print(f"{rank:3d}  {s:.4f}  {label:<12s} {path}")
    if args.output:
        neighbours = [read_image(p, model.input_shape[1:], args.data_dir) if p else None
                      for _, _, p in rows]
        contact_sheet(image, neighbours, rows, args.output, args.image)
        print(f"Contact sheet saved to {args.output}")


def contact_sheet(query, neighbours, rows, path, title: str = "query") -> None:
    """The query image and its neighbours side by side, each titled with score and label."""
    try:
        import matplotlib
    except ImportError as e:
        raise ImportError("search: -o draws with matplotlib: pip install matplotlib") from e
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(rows) + 1, figsize=(1.6 * (len(rows) + 1), 2.0),
                             squeeze=False)
    for ax, image, caption in zip(axes[0], [query, *neighbours],
                                  [title, *(f"{s:.3f}\n{lab}" for s, lab, _ in rows)]):
        ax.axis("off")
        ax.set_title(caption, fontsize=8)
        if image is not None:
            grey = image.ndim == 2 or image.shape[-1] == 1
            ax.imshow(image.squeeze(-1) if image.ndim == 3 and grey else image,
                      cmap="gray" if grey else None)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
