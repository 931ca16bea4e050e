"""Times RapidOCR's recognizer alone, one image a call; run by scripts/bench_vs_rapidocr.py.

It runs in RapidOCR's own virtual environment (benchmarks/peers/rapidocr/.venv: numpy 2
and its own onnxruntime, which TensorFlow 2.15's environment cannot hold), so it imports
nothing from tf_crnn. It reads one JSON object on stdin, {"paths": [...], "repeats": R,
"threads": T}, reads every image's encoded bytes into memory first (the timing covers
decoding, as tf_crnn's serving_default does from bytes), warms up, then times each call
with time.perf_counter and prints one JSON object on stdout: the words read on the first
pass and every call's latency in seconds.
"""

import importlib.metadata
import json
import sys
import time

WARMUP_CALLS = 5


def read_word(engine, data: bytes) -> str:
    """Recognition only: the crop is already one word, so no detection and no orientation classifier."""
    result, _ = engine(data, use_det=False, use_cls=False, use_rec=True)
    return result[0][0] if result else ""


def main():
    request = json.load(sys.stdin)
    import onnxruntime
    from rapidocr_onnxruntime import RapidOCR

    images = []
    for path in request["paths"]:
        with open(path, "rb") as handle:
            images.append(handle.read())
    # 1.4.4 copies the global intra_op_num_threads into the Det, Cls and Rec sessions.
    engine = RapidOCR(intra_op_num_threads=request["threads"])
    for data in images[:WARMUP_CALLS]:
        read_word(engine, data)

    words, latencies = [], []
    for repeat in range(request["repeats"]):
        for data in images:
            start = time.perf_counter()
            word = read_word(engine, data)
            latencies.append(time.perf_counter() - start)
            if repeat == 0:
                words.append(word)
    session_options = engine.text_rec.session.session.get_session_options()
    print(json.dumps({
        "words": words,
        "latencies_s": latencies,
        "intra_op_num_threads": session_options.intra_op_num_threads,
        "versions": {"rapidocr-onnxruntime": importlib.metadata.version("rapidocr-onnxruntime"),
                     "onnxruntime": onnxruntime.__version__, "python": sys.version.split()[0]},
    }))


if __name__ == "__main__":
    main()
