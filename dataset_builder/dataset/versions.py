"""Versions of everything that shapes a build's bytes, for the manifest."""

from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version

import soundfile

LIBRARIES = ("datasets", "pyarrow", "pillow", "numpy", "scipy", "soundfile", "av", "huggingface_hub")


def package_version(name: str = "mmmult") -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown (not installed)"


def library_versions() -> dict[str, str]:
    found = {name: package_version(name) for name in LIBRARIES}
    import av  # only a build asks, and builds import it anyway to encode

    libavcodec = ".".join(map(str, av.library_versions["libavcodec"]))
    return found | {
        "python": platform.python_version(),
        "libsndfile": soundfile.__libsndfile_version__,
        "libavcodec": libavcodec,
    }
