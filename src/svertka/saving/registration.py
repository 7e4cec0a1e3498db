"""Custom objects by name: Keras 3's registry (``register_keras_serializable``) and its
thread-local ``custom_object_scope``.

A saved model names every custom class or function it uses (``"package>name"`` for a
registered one, the class's own name otherwise) and never holds its code; loading looks the
name up here, in Keras's order: the innermost active ``custom_object_scope``, then the
global registry, then the ``custom_objects`` dict given to the call.

>>> @register_keras_serializable(package="docs")
... def halve(x):
...     return x * 0.5
>>> get_registered_name(halve), get_registered_object("docs>halve") is halve
('docs>halve', True)
>>> with custom_object_scope({"twice": lambda x: 2 * x}):
...     get_registered_object("twice")(3)
6
>>> get_registered_object("twice") is None
True
"""

from __future__ import annotations

import inspect
import threading

_GLOBAL_OBJECTS: dict[str, object] = {}  # "package>name" (or any key users add) -> object
_GLOBAL_NAMES: dict[object, str] = {}  # object -> its registered name
_scopes = threading.local()  # .stack: the dicts of the active custom_object_scopes


def _stack() -> list[dict]:
    stack = getattr(_scopes, "stack", None)
    if stack is None:
        stack = _scopes.stack = []
    return stack


def _same_code(a, b) -> bool:
    """Two definitions of one thing: a notebook cell or a module run again redefines its
    classes and functions as new objects of the same module and qualified name."""
    return (getattr(a, "__module__", None) == getattr(b, "__module__", None)
            and getattr(a, "__qualname__", None) == getattr(b, "__qualname__", None)
            and getattr(a, "__qualname__", None) is not None)


def register_keras_serializable(package: str = "Custom", name: str | None = None):
    """A decorator that registers a class or function as ``"package>name"`` (``name``
    defaults to its ``__name__``), so models that use it save that name and load it back.

    A class must have ``get_config``. A name already taken by another object is refused
    (Keras would silently replace it), except by a redefinition of the same code (the same
    module and qualified name), which replaces it, as re-running a notebook cell does.

    >>> @register_keras_serializable("docs", name="sq")
    ... def square(x):
    ...     return x * x
    >>> get_registered_name(square)
    'docs>sq'
    """
    if not isinstance(package, str) or ">" in package:
        raise ValueError(f"register_keras_serializable: argument 'package' must be a string "
                         f"without '>', received {package!r}")
    if name is not None and not isinstance(name, str):
        raise TypeError(f"register_keras_serializable: argument 'name' must be a string or "
                        f"None, received {name!r}")

    def decorator(obj):
        if not callable(obj):
            raise TypeError(f"register_keras_serializable: only classes and functions can be "
                            f"registered, received {obj!r}")
        if inspect.isclass(obj) and not hasattr(obj, "get_config"):
            raise ValueError(f"register_keras_serializable: cannot register the class "
                             f"{obj.__name__!r}: it has no get_config() method")
        key = f"{package}>{name if name is not None else obj.__name__}"
        taken = _GLOBAL_OBJECTS.get(key)
        if taken is not None and taken is not obj and not _same_code(taken, obj):
            raise ValueError(f"register_keras_serializable: the name {key!r} is already "
                             f"registered to {taken!r}; received {obj!r}. Choose another "
                             f"'package' or 'name'")
        if taken is not None:
            _GLOBAL_NAMES.pop(taken, None)
        _GLOBAL_OBJECTS[key] = obj
        _GLOBAL_NAMES[obj] = key
        return obj

    return decorator


def registered_name(obj) -> str | None:
    """The name ``obj`` was registered under, or None."""
    try:
        return _GLOBAL_NAMES.get(obj)
    except TypeError:  # an unhashable object is never registered
        return None


def get_registered_name(obj) -> str:
    """The name ``obj`` is registered under, or its ``__name__`` (Keras's fallback)."""
    name = registered_name(obj)
    return name if name is not None else obj.__name__


def get_registered_object(name: str, custom_objects: dict | None = None,
                          module_objects: dict | None = None):
    """The object for ``name``: from the innermost active ``custom_object_scope``, the global
    registry, ``custom_objects`` or ``module_objects``, in that order (Keras's); None if none
    has it."""
    for scope in reversed(_stack()):
        if name in scope:
            return scope[name]
    if name in _GLOBAL_OBJECTS:
        return _GLOBAL_OBJECTS[name]
    for table in (custom_objects, module_objects):
        if table and name in table:
            return table[name]
    return None


def resolve(name: str, custom_objects: dict | None = None):
    """``get_registered_object``, also trying the part after ``>``: a file names a registered
    class ``"package>MyLayer"``, and ``custom_objects={"MyLayer": MyLayer}`` provides it."""
    obj = get_registered_object(name, custom_objects)
    if obj is None and isinstance(name, str) and ">" in name:
        obj = get_registered_object(name.split(">", 1)[1], custom_objects)
    return obj


def get_custom_objects() -> dict:
    """The global dict of custom objects itself: ``get_custom_objects()["fn"] = fn`` makes
    ``fn`` resolvable by that key, as in Keras."""
    return _GLOBAL_OBJECTS


def unknown_name_message(where: str | None, kind: str, name) -> str:
    """What to say when ``name`` resolves to nothing: what is missing and how to provide it
    (``where``, the caller, first unless None)."""
    return ((f"{where}: " if where else "")
            + f"unknown {kind} {name!r}: it is saved by name, never with its code. Provide "
            f"it with custom_objects={{{name!r}: ...}} (load_model, model_from_json), inside "
            f"svertka.saving.custom_object_scope({{{name!r}: ...}}), or by decorating it with "
            f"@svertka.saving.register_keras_serializable() before loading")


class CustomObjectScope:
    """Make ``custom_objects`` (dicts of name -> class or function) resolvable inside a
    ``with`` block, on this thread; scopes nest, the inner one winning.

    >>> with CustomObjectScope({"a": 1}), CustomObjectScope({"a": 2}):
    ...     get_registered_object("a")
    2
    """

    def __init__(self, *custom_objects):
        merged = {}
        for table in custom_objects:
            if table is None:
                continue
            if not isinstance(table, dict):
                raise TypeError(f"custom_object_scope: arguments must be dicts of name -> "
                                f"object, received {table!r}")
            merged.update(table)
        self.custom_objects = merged

    def __enter__(self):
        _stack().append(self.custom_objects)
        return self

    def __exit__(self, *exc) -> None:
        stack = _stack()
        if stack and stack[-1] is self.custom_objects:
            stack.pop()
        else:  # exited out of order (a scope kept across threads): drop just this one
            for i in range(len(stack) - 1, -1, -1):
                if stack[i] is self.custom_objects:
                    del stack[i]
                    break


custom_object_scope = CustomObjectScope
