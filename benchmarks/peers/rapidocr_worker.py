"""Times RapidOCR's recognizer alone, one image a call; run by scripts/bench_vs_rapidocr.py.

It runs in the virtual environment of one RapidOCR release (numpy 2 and its own
onnxruntime, which TensorFlow 2.15's environment cannot hold), so it imports nothing from
tf_crnn. Two releases, two APIs:

- "rapidocr_onnxruntime": rapidocr-onnxruntime 1.4.4 (benchmarks/peers/rapidocr/.venv),
  PP-OCRv4 recognizer: RapidOCR(intra_op_num_threads=T), called with use_det=False,
  use_cls=False, use_rec=True; it returns ([[text, score]], elapse).
- "rapidocr": rapidocr 3.10.0 (benchmarks/peers/rapidocr3/.venv), its PP-OCRv6 small
  recognizer: RapidOCR(params={"EngineConfig.onnxruntime.intra_op_num_threads": T}),
  called with the same three flags; recognition only, it returns a TextRecOutput whose
  txts hold the text (None when nothing was read). It loads each model on first use,
  so the detector and classifier are never loaded.

It talks in JSON lines. The first line on stdin, {"api": A, "paths": [...], "threads": T},
makes it read every image's encoded bytes into memory (the timing covers decoding, as
tf_crnn's serving_default does from bytes), load the recognizer and warm up; it answers
with its versions and the recognizer session's intra-op threads. Then each {"pass": true}
line gets one timed pass over the images (time.perf_counter around each call): the words
and every call's latency in seconds. It ends at the end of stdin. Staying up between
passes lets the benchmark give the systems turns (scripts/bench_vs_rapidocr.py).
"""

import importlib.metadata
import json
import sys
import time

WARMUP_CALLS = 5
DISTRIBUTIONS = {"rapidocr_onnxruntime": "rapidocr-onnxruntime", "rapidocr": "rapidocr"}


def read_word_1(engine, data: bytes) -> str:
    """rapidocr-onnxruntime 1.x, recognition only: the crop is already one word, so no
    detection and no orientation classifier."""
    result, _ = engine(data, use_det=False, use_cls=False, use_rec=True)
    return result[0][0] if result else ""


def read_word_3(engine, data: bytes) -> str:
    """rapidocr 3.x, recognition only (as read_word_1); the text is the output's txts."""
    result = engine(data, use_det=False, use_cls=False, use_rec=True)
    texts = getattr(result, "txts", None)
    return texts[0] if texts else ""


def open_engine(api: str, threads: int):
    """(engine, its read_word) for `api`, the recognizer's ONNX Runtime session on `threads`
    intra-op threads."""
    if api == "rapidocr_onnxruntime":
        from rapidocr_onnxruntime import RapidOCR

        # 1.4.4 copies the global intra_op_num_threads into the Det, Cls and Rec sessions.
        return RapidOCR(intra_op_num_threads=threads), read_word_1
    if api == "rapidocr":
        from rapidocr import RapidOCR

        # 3.x reads it from the onnxruntime engine config (honoured from 1 to os.cpu_count()).
        return RapidOCR(params={"EngineConfig.onnxruntime.intra_op_num_threads": threads}), read_word_3
    raise SystemExit(f"unknown api {api!r}: one of {', '.join(DISTRIBUTIONS)}")


def answer(reply: dict) -> None:
    print(json.dumps(reply), flush=True)


def main():
    request = json.loads(sys.stdin.readline())
    api = request.get("api", "rapidocr_onnxruntime")
    engine, read_word = open_engine(api, request["threads"])
    import onnxruntime

    images = []
    for path in request["paths"]:
        with open(path, "rb") as handle:
            images.append(handle.read())
    for data in images[:WARMUP_CALLS]:  # 3.x loads the recognizer on the first call
        read_word(engine, data)

    # Both keep the recognizer's onnxruntime.InferenceSession at text_rec.session.session.
    session_options = engine.text_rec.session.session.get_session_options()
    distribution = DISTRIBUTIONS[api]
    answer({"intra_op_num_threads": session_options.intra_op_num_threads,
            "versions": {distribution: importlib.metadata.version(distribution),
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
