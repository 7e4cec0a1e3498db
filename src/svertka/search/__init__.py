"""Search for similar images by their descriptors (SPEC §10).

``embed(model, x, layer=-2)`` gives L2-normalised descriptors of any layer; ``Index`` holds
them with labels and paths, answers ``query(x, k)`` by exact cosine search (NumPy, blocked;
faiss when installed and the index is large) and saves and loads without pickle;
``describe(model)`` records which network made them.

>>> import numpy as np
>>> from svertka import zoo
>>> model = zoo.lenet5((28, 28, 1))
>>> x = np.random.default_rng(0).integers(0, 256, (20, 28, 28), np.uint8)
>>> index = Index(embed(model, x), labels=np.arange(20))
>>> scores, ids = index.query(embed(model, x[:2]), k=3)
>>> ids[:, 0].tolist()                       # each image finds itself first
[0, 1]
"""

from svertka.search.embed import (
    describe,
    embed,
    feature_model,
    l2_normalize,
    precision_at_k,
    prepare_images,
)
from svertka.search.index import BACKENDS, FAISS_FROM, Index, leave_one_out, topk_exact

__all__ = ["BACKENDS", "FAISS_FROM", "Index", "describe", "embed", "feature_model",
           "l2_normalize", "leave_one_out", "precision_at_k", "prepare_images", "topk_exact"]
