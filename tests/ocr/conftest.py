import pytest


@pytest.fixture(scope="session")
def mnist_test():
    """MNIST's test split ``(x, y)``, or a skip where the data is not here."""
    from svertka.datasets import mnist
    from svertka.datasets.sources import DatasetNotFoundError

    try:
        return mnist.load_data()[1]
    except DatasetNotFoundError:
        pytest.skip("MNIST is not available here (set SVERTKA_DATA)")
