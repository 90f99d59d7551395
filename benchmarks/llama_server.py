"""llama.cpp's OpenAI-compatible server (llama_cpp.server) with ggml's weight repacking turned off.

    .venv/bin/python -m benchmarks.llama_server --model FILE.gguf --port 8000 [llama_cpp.server options]

ggml built for a CPU that reports AMX repacks the weights into AMX buffers, and on the virtual
machine this was measured on (an Intel Xeon with amx_int8 and amx_tile) that crashed the server
with a segmentation fault in its first decode. llama.cpp's own tools turn repacking off with
--no-repack; llama-cpp-python's server has no such option, so this sets the model parameter
use_extra_bufts to false and runs the server's own main with the arguments given. Speed without
repacking, on 2 cores: about 25 tokens/s for the 0.5B Q4_K_M model.
"""

from __future__ import annotations

import sys

try:
    import llama_cpp.llama
    from llama_cpp.server.__main__ import main as serve
except ImportError:
    sys.exit("llama.cpp's server is not installed: pip install -e '.[llama]' (it builds from source, minutes)")

_defaults = llama_cpp.llama.llama_cpp.llama_model_default_params


def _without_repacking() -> llama_cpp.llama.llama_cpp.llama_model_params:
    params = _defaults()
    params.use_extra_bufts = False
    return params


if __name__ == "__main__":
    llama_cpp.llama.llama_cpp.llama_model_default_params = _without_repacking
    serve()
