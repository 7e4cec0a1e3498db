"""The error families a caller can catch as one.

Everything that goes wrong while reading a file that svertka did not write itself, or that
was damaged since, ends in one of two exceptions, each naming the file and what is wrong:

- :class:`ModelFileError`: a model or weights file (``load_model``, ``load_weights``,
  ``BackupAndRestore``'s backups) is damaged, hostile or not a svertka file;
- :class:`DataFileError`: a data set's file (IDX, ``.gz``, tar, zip, image, CIFAR-10 batch)
  is truncated, corrupt or not what its name says.

Both are ``ValueError``s, so ``except ValueError`` still catches them. Lower-level
exceptions (``zipfile.BadZipFile``, ``zlib.error``, ``json.JSONDecodeError``,
``EOFError``, ...) never escape: they are chained as ``__cause__``.

>>> import svertka
>>> issubclass(svertka.ModelFileError, ValueError)
True
"""

from __future__ import annotations


class ModelFileError(ValueError):
    """A model or weights file is damaged, hostile or not a svertka file."""


class DataFileError(ValueError):
    """A data file is truncated, corrupt or not in the format its name says."""


__all__ = ["DataFileError", "ModelFileError"]
