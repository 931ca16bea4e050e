"""Times RapidOCR's recognizer alone, one image a call; run by scripts/bench_vs_rapidocr.py.

It runs in RapidOCR's own virtual environment (benchmarks/peers/rapidocr/.venv: numpy 2
and its own onnxruntime, which TensorFlow 2.15's environment cannot hold), so it imports
nothing from tf_crnn. It talks in JSON lines. The first line on stdin, {"paths": [...],
"threads": T}, makes it read every image's encoded bytes into memory (the timing covers
decoding, as tf_crnn's serving_default does from bytes), load the recognizer and warm up;
it answers with its versions and threads. Then each {"pass": true} line gets one timed
pass over the images (time.perf_counter around each call): the words and every call's
latency in seconds. It ends at the end of stdin. Staying up between passes lets the
benchmark give the systems turns (scripts/bench_vs_rapidocr.py).
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


def answer(reply: dict) -> None:
    print(json.dumps(reply), flush=True)


def main():
    request = json.loads(sys.stdin.readline())
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

    session_options = engine.text_rec.session.session.get_session_options()
    answer({"intra_op_num_threads": session_options.intra_op_num_threads,
            "versions": {"rapidocr-onnxruntime": importlib.metadata.version("rapidocr-onnxruntime"),
                         "onnxruntime": onnxruntime.__version__, "python": sys.version.split()[0]}})
    for line in sys.stdin:
        if not json.loads(line).get("pass"):
            break
        words, latencies = [], []
        for data in images:
            start = time.perf_counter()
            words.append(read_word(engine, data))
            latencies.append(time.perf_counter() - start)
        answer({"words": words, "latencies_s": latencies})


if __name__ == "__main__":
    main()
