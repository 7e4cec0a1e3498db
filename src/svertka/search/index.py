"""``Index``: descriptors with their labels and paths, searched by cosine similarity.

Exact search in NumPy: the queries' scores against the database are computed a block at a
time (at most ``BLOCK_BYTES`` of float32 scores), each block's top k is taken with
``argpartition``, and the running top k is merged block by block, so memory stays bounded
for any database size. Order is by score, then by database position: equal scores (duplicate
images) always come back lowest index first, as a stable argsort of the full score matrix
would give them. With ``faiss`` installed (``pip install faiss-cpu``), ``backend="auto"``
hands an index of at least ``FAISS_FROM`` vectors to ``faiss.IndexFlatIP`` (exact as well;
its order among equal scores is its own). Files are a ``.npz`` (no pickle) with a JSON header.
"""

from __future__ import annotations

import json
import os

import numpy as np

from svertka.search.embed import l2_normalize

BLOCK_BYTES = 64 * 2**20  # float32 scores held at once by the NumPy search
# vectors from which backend="auto" uses faiss when it is installed. Measured on 2 quiet
# cores (benchmarks/search.py, 1,000 queries of 128 values, k=10), faiss 1.15.1's IndexFlatIP
# against the blocked NumPy search: 10^5 0.76 s against 0.82 s, 10^6 6.2 s against 7.6 s
# (both are one matrix product); below 10^6 NumPy stays, needing nothing installed;
# backend="faiss" forces it.
FAISS_FROM = 1_000_000
BACKENDS = ("auto", "numpy", "faiss")
FORMAT = "svertka-index"


def _faiss():
    try:
        import faiss
    except ImportError:
        return None
    return faiss


def topk_exact(queries: np.ndarray, database: np.ndarray, k: int,
               block_bytes: int = BLOCK_BYTES) -> tuple[np.ndarray, np.ndarray]:
    """(scores, indices), each (Q, k): the k largest ``queries @ database.T`` of each row,
    score descending then index ascending, computed in blocks of at most ``block_bytes``.

    >>> db = np.eye(3, dtype=np.float32)
    >>> topk_exact(np.array([[0, 1, 0]], np.float32), db, 2)[1].tolist()
    [[1, 0]]
    """
    q_n, n = len(queries), len(database)
    k = min(k, n)
    rows = max(1, min(q_n, 1024))
    cols = max(k, min(n, block_bytes // (4 * rows)))
    best_s = np.full((q_n, 0), -np.inf, np.float32)
    best_i = np.zeros((q_n, 0), np.int64)
    out_s, out_i = np.empty((q_n, k), np.float32), np.empty((q_n, k), np.int64)
    for r in range(0, q_n, rows):
        q = queries[r:r + rows]
        bs, bi = best_s[r:r + rows], best_i[r:r + rows]
        for c in range(0, n, cols):
            s = q @ database[c:c + cols].T  # (rows, cols)
            ts, ti = _block_topk(s, min(k, s.shape[1]))
            bs, bi = _merge(np.concatenate([bs, ts], 1), np.concatenate([bi, ti + c], 1), k)
        out_s[r:r + rows], out_i[r:r + rows] = bs, bi
    return out_s, out_i


def _block_topk(s: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The exact top k of each row of one block under (score desc, column asc)."""
    if k == s.shape[1]:
        i = np.argsort(-s, axis=1, kind="stable")
    else:
        i = np.argpartition(-s, k - 1, axis=1)[:, :k]
        kth = np.take_along_axis(s, i, 1).min(axis=1)
        # argpartition picks arbitrarily among scores equal to the k-th; such rows are sorted
        # in full (stably), which gives the lowest columns among the ties
        tied = (s == kth[:, None]).sum(1) != (np.take_along_axis(s, i, 1) == kth[:, None]).sum(1)
        if tied.any():
            i[tied] = np.argsort(-s[tied], axis=1, kind="stable")[:, :k]
    i = i[:, :k]
    return _merge(np.take_along_axis(s, i, 1), i.astype(np.int64), k)


def _merge(s: np.ndarray, i: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Candidates (rows, m) sorted by score desc, index asc, the first k kept."""
    order = np.lexsort((i, -s), axis=-1)[:, :k]
    return np.take_along_axis(s, order, 1), np.take_along_axis(i, order, 1)


def leave_one_out(ids: np.ndarray, k: int) -> np.ndarray:
    """The first ``k`` neighbours of each query other than itself, from ``ids`` (Q, k + 1)
    of an index queried with its own vectors (query q is stored at position q).

    >>> leave_one_out(np.array([[0, 5, 6], [4, 1, 7]]), 2).tolist()
    [[5, 6], [4, 7]]
    """
    ids = np.asarray(ids)
    drop = ids == np.arange(len(ids))[:, None]
    drop[~drop.any(axis=1), -1] = True  # a query outranked by k + 1 duplicates: drop the last
    drop[np.cumsum(drop, axis=1) > 1] = False
    return ids[~drop].reshape(len(ids), ids.shape[1] - 1)[:, :k]


class Index:
    """L2-normalised descriptors (N, D) with optional ``labels`` (N,) ints, ``paths`` (N,)
    strings and a JSON-able ``metadata`` dict (``svertka.search.describe``'s model record
    under ``"model"``: which network made the vectors; queries from another are refused).

    >>> idx = Index(np.array([[1, 0], [0, 2], [1, 1]]), labels=[7, 8, 9])
    >>> scores, ids = idx.query(np.array([[0, 1]]), k=2)
    >>> ids.tolist(), [[round(float(s), 3) for s in scores[0]]], idx.labels[ids].tolist()
    ([[1, 2]], [[1.0, 0.707]], [[8, 9]])
    """

    def __init__(self, vectors, labels=None, paths=None, metadata: dict | None = None):
        self.vectors = l2_normalize(vectors, "Index")
        self.labels = None if labels is None else self._labels(labels, len(self.vectors))
        self.paths = None if paths is None else self._paths(paths, len(self.vectors))
        self.metadata = dict(metadata or {})
        json.dumps(self.metadata)  # fails now, not at save, for what JSON cannot hold
        self._faiss_index = None

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]

    def __len__(self) -> int:
        return len(self.vectors)

    def __repr__(self) -> str:
        return f"Index({len(self)} vectors of {self.dim})"

    @staticmethod
    def _labels(labels, n: int) -> np.ndarray:
        y = np.asarray(labels).reshape(-1)
        if len(y) != n or not np.issubdtype(y.dtype, np.integer):
            raise ValueError(f"Index: argument 'labels' must hold one int per vector ({n}), "
                             f"received {y.dtype} of shape {np.shape(labels)}")
        return y.astype(np.int64)

    @staticmethod
    def _paths(paths, n: int) -> np.ndarray:
        p = [os.fspath(x) if isinstance(x, os.PathLike) else x for x in paths]
        if len(p) != n or not all(isinstance(x, str) for x in p):
            raise ValueError(f"Index: argument 'paths' must hold one string per vector ({n}), "
                             f"received {len(p)} items")
        return np.array(p, dtype=str) if p else np.zeros(0, "<U1")

    def add(self, vectors, labels=None, paths=None) -> None:
        """Append vectors (with labels and paths when the index has them)."""
        v = l2_normalize(vectors, "Index.add")
        if len(self) and v.shape[1] != self.dim:
            raise ValueError(f"Index.add: vectors must have {self.dim} columns, received "
                             f"{v.shape[1]}")
        for name, have, given in (("labels", self.labels, labels), ("paths", self.paths, paths)):
            if (have is None) != (given is None) and len(self):
                raise ValueError(f"Index.add: argument '{name}' must be given exactly when the "
                                 f"index has {name} ({'it has' if have is not None else 'none'})")
        if labels is not None:
            new = self._labels(labels, len(v))
            self.labels = new if self.labels is None else np.concatenate([self.labels, new])
        if paths is not None:
            new = self._paths(paths, len(v))
            self.paths = new if self.paths is None else np.concatenate([self.paths, new])
        self.vectors = v if not len(self) else np.concatenate([self.vectors, v])
        self._faiss_index = None

    def query(self, x, k: int = 10, backend: str = "auto") -> tuple[np.ndarray, np.ndarray]:
        """(scores, indices), each (Q, k): the k most cosine-similar stored vectors to each
        row of ``x`` (Q, D), best first. ``backend``: ``"numpy"`` (exact, blocked),
        ``"faiss"`` (``faiss.IndexFlatIP``), ``"auto"`` (faiss from ``FAISS_FROM`` vectors
        when installed). k larger than the index is cut to its size."""
        if backend not in BACKENDS:
            raise ValueError(f"Index.query: argument 'backend' must be one of {BACKENDS}, "
                             f"received {backend!r}")
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"Index.query: argument 'k' must be a positive int, received {k!r}")
        q = l2_normalize(np.atleast_2d(x), "Index.query")
        if q.shape[1] != self.dim:
            raise ValueError(f"Index.query: queries must have the index's {self.dim} columns, "
                             f"received {q.shape[1]}")
        k = min(int(k), len(self))
        if k == 0:
            return np.zeros((len(q), 0), np.float32), np.zeros((len(q), 0), np.int64)
        faiss = _faiss() if backend != "numpy" else None
        if backend == "faiss" and faiss is None:
            raise ImportError("Index.query: backend='faiss' needs faiss: pip install faiss-cpu")
        if faiss is not None and (backend == "faiss" or len(self) >= FAISS_FROM):
            if self._faiss_index is None:
                self._faiss_index = faiss.IndexFlatIP(self.dim)
                self._faiss_index.add(self.vectors)
            scores, ids = self._faiss_index.search(q, k)
            return scores.astype(np.float32), ids.astype(np.int64)
        return topk_exact(q, self.vectors, k)

    # -- images and the model that embeds them -------------------------------------------
    @classmethod
    def from_images(cls, model, x, labels=None, paths=None, layer=-2, pool: str = "avg",
                    source: str | None = None, batch_size: int = 256,
                    metadata: dict | None = None) -> Index:
        """An index of images ``x`` embedded by ``model`` at ``layer``, remembering the model
        (``describe``: ``source``, layer, pooling, input shape, weights' fingerprint)."""
        from svertka.search.embed import describe, embed

        record = describe(model, layer, pool, source)
        return cls(embed(model, x, record["layer"], batch_size, pool), labels, paths,
                   {**(metadata or {}), "model": record})

    def check_model(self, model) -> dict:
        """The index's model record, after checking that ``model`` is the network (same
        weights, layer, pooling and input) that made the index; ValueError otherwise."""
        from svertka.search.embed import describe

        record = self.metadata.get("model")
        if not isinstance(record, dict) or "fingerprint" not in record:
            raise ValueError("Index: the index does not record the model that made it (build "
                             "it with Index.from_images or 'svertka index')")
        try:
            mine = describe(model, record["layer"], record["pool"])
        except ValueError as e:
            raise ValueError(f"Index: the query model is not the one that made the index "
                             f"({record.get('source') or record['model']}): {e}") from e
        if mine["fingerprint"] != record["fingerprint"]:
            raise ValueError(f"Index: the query model ({model.name}, input "
                             f"{tuple(mine['input_shape'])}) is not the one that made the "
                             f"index ({record.get('source') or record['model']}, input "
                             f"{tuple(record['input_shape'])}, layer {record['layer']!r}): "
                             f"their weights differ, so their descriptors cannot be compared")
        return record

    def query_images(self, model, x, k: int = 10, backend: str = "auto",
                     batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
        """``query`` for images ``x``, embedded by ``model`` once it is checked to be the
        network that made the index (``check_model``)."""
        from svertka.search.embed import embed

        record = self.check_model(model)
        return self.query(embed(model, x, record["layer"], batch_size, record["pool"]), k,
                          backend)

    # -- files ---------------------------------------------------------------------------
    def save(self, path) -> None:
        """Write the index to ``path`` (exactly that name) as a ``.npz``: ``vectors``,
        ``labels``, ``paths`` and a JSON ``header`` (count, dimension, metadata)."""
        header = {"format": FORMAT, "version": 1, "count": len(self), "dim": self.dim,
                  "labels": self.labels is not None, "paths": self.paths is not None,
                  "metadata": self.metadata}
        arrays = {"header": np.frombuffer(json.dumps(header).encode(), np.uint8),
                  "vectors": self.vectors}
        if self.labels is not None:
            arrays["labels"] = self.labels
        if self.paths is not None:
            arrays["paths"] = self.paths
        with open(path, "wb") as f:
            np.savez(f, **arrays)

    @classmethod
    def load(cls, path) -> Index:
        """The index saved at ``path``; a damaged or foreign file raises
        ``svertka.DataFileError`` naming it. Shapes and dtypes are checked against the
        header before any array is read."""
        from svertka.search.files import read_index

        header, arrays = read_index(path)
        index = cls.__new__(cls)
        index.vectors, index.metadata = arrays["vectors"], header["metadata"]
        index.labels, index.paths = arrays.get("labels"), arrays.get("paths")
        index._faiss_index = None
        return index


__all__ = ["BACKENDS", "BLOCK_BYTES", "FAISS_FROM", "Index", "leave_one_out", "topk_exact"]
