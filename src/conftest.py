"""The doctests of ``src/svertka`` (``--doctest-modules``, see pyproject.toml): examples of
modules that need an optional package skip, with the reason, where it is not installed."""

import importlib.util

import pytest

# module (or package prefix) -> the optional package its examples use
OPTIONAL = {
    "svertka.datasets.images": "PIL",  # pip install svertka[images]
    "svertka.viz": "matplotlib",  # pip install svertka[plot]
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if not isinstance(item, pytest.DoctestItem):
            continue
        for prefix, package in OPTIONAL.items():
            if item.name.startswith(prefix) and importlib.util.find_spec(package) is None:
                item.add_marker(pytest.mark.skip(reason=f"the example needs {package}"))
