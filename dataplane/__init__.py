"""The dataplane: a broker that speaks the Apache Kafka wire protocol. It never imports Django."""

from importlib.metadata import PackageNotFoundError, version

# What a source tree that is not installed calls itself; keep it in step with pyproject.toml.
SOURCE_VERSION = "0.1.0"


def _version() -> str:
    try:
        return version("streamplane")
    except PackageNotFoundError:
        return SOURCE_VERSION


__version__ = _version()
