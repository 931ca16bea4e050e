"""The REST and gRPC clients against the tiny model's export, with TF Serving played by this test.

TF Serving cannot run here (no docker engine, no model server binary), so the requests
the clients build are decoded the way TF Serving decodes them (REST: the base64 of each
`{"b64": ...}` instance stacked into a DT_STRING tensor for the signature's one input;
gRPC: `tf.make_ndarray` of the request's TensorProto) and fed to the SavedModel's
`serving_default`; answers are shaped like TF Serving's (REST row format, PredictResponse).
Small stand-in servers on 127.0.0.1 do the same over real HTTP and gRPC, so the command
line is tested end to end, bad images included.
"""

import base64
import io
import json
import os
import socket
import subprocess
import threading
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
import numpy as np
import pytest
import tensorflow as tf

pytest.importorskip("tensorflow_serving", reason="needs pip install --no-deps tensorflow-serving-api==2.15.1")
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc  # noqa: E402

from conftest import REPO, TINY_WORDS, assert_clean_error, render_text, run_module  # noqa: E402
from tf_crnn import serving_client  # noqa: E402
from tf_crnn.serving_client import Reading, ServingError  # noqa: E402

BAD_PNG = b"\x89PNG\r\n\x1a\nbroken"
MODEL_NAME = "crnn"
SHORT_MODEL = "crnn_short"  # the stand-in answers one reading fewer than it was sent images


def png_bytes(word: str) -> bytes:
    buffer = io.BytesIO()
    render_text(word).save(buffer, format="PNG")
    return buffer.getvalue()


def read_directly(signature, images) -> list:
    """What the export reads in these images, called in this process: the reference for the wire."""
    return [w.decode() for w in signature(images=tf.constant(images))["words"].numpy()]


def assert_mostly_right(words, truth):
    """The tiny model reads its own words, though a training run may miss one or two."""
    assert sum(w == t for w, t in zip(words, truth)) >= 0.8 * len(truth), list(zip(words, truth))


def newest_version(base_path) -> str:
    return os.path.join(base_path, max((d for d in os.listdir(base_path) if d.isdigit()), key=int))


@pytest.fixture(scope="module")
def served(trained_tiny):
    """The tiny model's newest export, loaded as TF Serving would: its `serving_default`."""
    root, _ = trained_tiny
    model = tf.saved_model.load(newest_version(root / "model" / "export" / "latest"))
    return model.signatures["serving_default"]


# ------------------------------------------------------------------ TF Serving's side

def tf_serving_rest_inputs(body: dict, signature) -> dict:
    """A REST predict body decoded as TF Serving does for a row-format request."""
    assert body["signature_name"] == "serving_default"
    input_names = list(signature.structured_input_signature[1])
    assert input_names == ["images"]
    values = []
    for instance in body["instances"]:
        # One input: an instance is that input's value; {"b64": ...} marks binary data.
        assert set(instance) == {"b64"}, instance
        values.append(base64.b64decode(instance["b64"], validate=True))
    return {"images": tf.constant(values, dtype=tf.string)}


def tf_serving_rest_answer(outputs: dict) -> dict:
    """Outputs in TF Serving's REST row format: one object per instance, strings as text."""
    columns = {name: value.numpy() for name, value in outputs.items()}

    def jsonable(item):
        if isinstance(item, bytes):
            return item.decode()
        if isinstance(item, np.ndarray):
            return [jsonable(v) for v in item]
        return item.item() if isinstance(item, np.generic) else item

    return {"predictions": [{name: jsonable(value[i]) for name, value in columns.items()}
                            for i in range(len(columns["words"]))]}


def tf_serving_grpc_inputs(request, signature) -> dict:
    """A PredictRequest's inputs as TF Serving turns them into tensors."""
    return {name: tf.constant(tf.make_ndarray(proto)) for name, proto in request.inputs.items()}


def tf_serving_grpc_answer(outputs: dict, request):
    response = predict_pb2.PredictResponse()
    response.model_spec.CopyFrom(request.model_spec)
    for name, value in outputs.items():
        response.outputs[name].CopyFrom(tf.make_tensor_proto(value.numpy()))
    return response


# ------------------------------------------------------------------ requests and answers

def test_rest_body_is_tf_serving_row_format():
    body = serving_client.rest_request_body([b"abc", b"\x00\xff"])
    assert body == {"signature_name": "serving_default", "instances": [{"b64": "YWJj"}, {"b64": "AP8="}]}
    assert json.loads(json.dumps(body)) == body


def test_rest_request_read_by_the_export(served):
    images = [png_bytes(word) for word in TINY_WORDS]
    body = json.loads(json.dumps(serving_client.rest_request_body(images)))
    outputs = served(**tf_serving_rest_inputs(body, served))
    answer = json.loads(json.dumps(tf_serving_rest_answer(outputs)))
    readings = serving_client.parse_rest_response(answer)
    assert [r.word for r in readings] == read_directly(served, images)
    assert_mostly_right([r.word for r in readings], TINY_WORDS)
    assert all(0.0 < r.confidence <= 1.0 for r in readings)
    assert all(len(r.top_words) == len(r.top_scores) >= 1 for r in readings)
    assert all("".join(c["char"] for c in r.chars) == r.word for r in readings)


def test_grpc_request_read_by_the_export(served):
    images = [png_bytes(word) for word in TINY_WORDS]
    request = serving_client.predict_request(images, MODEL_NAME, version=7)
    request = predict_pb2.PredictRequest.FromString(request.SerializeToString())  # as sent on the wire
    assert request.model_spec.name == MODEL_NAME
    assert request.model_spec.signature_name == "serving_default"
    assert request.model_spec.version.value == 7
    assert list(request.inputs) == ["images"]
    assert request.inputs["images"].dtype == tf.string.as_datatype_enum
    assert [d.size for d in request.inputs["images"].tensor_shape.dim] == [len(images)]
    outputs = served(**tf_serving_grpc_inputs(request, served))
    response = tf_serving_grpc_answer(outputs, request)
    response = predict_pb2.PredictResponse.FromString(response.SerializeToString())
    readings = serving_client.parse_predict_response(response)
    assert [r.word for r in readings] == read_directly(served, images)
    assert_mostly_right([r.word for r in readings], TINY_WORDS)
    assert all(0.0 < r.confidence <= 1.0 for r in readings)
    assert all("".join(c["char"] for c in r.chars) == r.word and all(c["x_range"][0] >= 0 for c in r.chars)
               for r in readings)


def test_parse_rest_answers_shaped_like_tf_serving():
    rows = {"predictions": [
        {"words": "cat", "confidences": 0.97, "top_words": ["cat", "cot", "cut"], "top_scores": [0.97, 0.02, 0.01]},
        {"words": "Ödön", "confidences": 0.5, "top_words": ["Ödön", "Odon", "0don"], "top_scores": [0.5, 0.3, 0.1]},
    ]}
    readings = serving_client.parse_rest_response(json.loads(json.dumps(rows)))
    assert readings == [Reading("cat", 0.97, ["cat", "cot", "cut"], [0.97, 0.02, 0.01]),
                        Reading("Ödön", 0.5, ["Ödön", "Odon", "0don"], [0.5, 0.3, 0.1])]
    columns = {"outputs": {"words": ["cat"], "confidences": [0.97], "top_words": [["cat", "cot"]],
                           "top_scores": [[0.97, 0.02]]}}
    assert serving_client.parse_rest_response(columns) == [Reading("cat", 0.97, ["cat", "cot"], [0.97, 0.02])]
    # Outputs named *_bytes come base64-encoded.
    assert serving_client.parse_rest_response(
        {"predictions": [{"words": {"b64": "ZG9n"}, "confidences": 1.0}]})[0].word == "dog"
    with pytest.raises(ServingError) as refused:
        serving_client.parse_rest_response({"error": "Invalid PNG data, size 14"})
    assert refused.value.rejected and "Invalid PNG" in str(refused.value)
    with pytest.raises(ServingError, match="words"):
        serving_client.parse_rest_response({"predictions": [3.5, 4.0]})


def test_parse_predict_response_proto():
    response = predict_pb2.PredictResponse()
    response.model_spec.name = MODEL_NAME
    response.outputs["words"].CopyFrom(tf.make_tensor_proto(np.array([b"sun", "z\u00fcrich".encode()], dtype=object)))
    response.outputs["confidences"].CopyFrom(tf.make_tensor_proto(np.array([0.9, 0.25], np.float32)))
    response.outputs["top_words"].CopyFrom(tf.make_tensor_proto(np.array([[b"sun", b"son"], [b"x", b"y"]], dtype=object)))
    response.outputs["top_scores"].CopyFrom(tf.make_tensor_proto(np.array([[0.9, 0.1], [0.25, 0.2]], np.float32)))
    readings = serving_client.parse_predict_response(predict_pb2.PredictResponse.FromString(response.SerializeToString()))
    assert [r.word for r in readings] == ["sun", "zürich"]
    assert readings[0].confidence == pytest.approx(0.9)
    assert readings[1].top_words == ["x", "y"] and readings[1].top_scores == pytest.approx([0.25, 0.2])


def test_bad_image_fails_its_request_and_the_process_serves_on(served):
    good = [png_bytes(word) for word in TINY_WORDS]
    before = read_directly(served, good)
    with pytest.raises(tf.errors.InvalidArgumentError):
        served(images=tf.constant(good[:3] + [BAD_PNG]))
    assert read_directly(served, good) == before
    assert_mostly_right(before, TINY_WORDS)


# ------------------------------------------------------------------ over the wire, with stand-in servers

class _RestHandler(BaseHTTPRequestHandler):
    signature = None

    def do_POST(self):
        short = self.path == f"/v1/models/{SHORT_MODEL}:predict"
        if self.path != f"/v1/models/{MODEL_NAME}:predict" and not short:
            return self._reply(404, {"error": f"Servable not found for request: {self.path}"})
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        try:
            outputs = self.signature(**tf_serving_rest_inputs(body, self.signature))
        except tf.errors.InvalidArgumentError as err:
            return self._reply(400, {"error": err.message})
        answer = tf_serving_rest_answer(outputs)
        if short:
            answer["predictions"] = answer["predictions"][:-1]
        self._reply(200, answer)

    def _reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


class _PredictionService(prediction_service_pb2_grpc.PredictionServiceServicer):
    def __init__(self, signature):
        self.signature = signature

    def Predict(self, request, context):
        try:
            outputs = self.signature(**tf_serving_grpc_inputs(request, self.signature))
        except tf.errors.InvalidArgumentError as err:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, err.message)
        return tf_serving_grpc_answer(outputs, request)


@pytest.fixture(scope="module")
def stand_in_servers(served):
    """REST and gRPC servers on 127.0.0.1 that answer like TF Serving; yields (rest url, grpc target)."""
    handler = type("Handler", (_RestHandler,), {"signature": staticmethod(served)})
    rest = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=rest.serve_forever, daemon=True).start()
    rpc = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(_PredictionService(served), rpc)
    port = rpc.add_insecure_port("127.0.0.1:0")
    rpc.start()
    try:
        yield f"http://127.0.0.1:{rest.server_address[1]}/v1/models/{MODEL_NAME}:predict", f"127.0.0.1:{port}"
    finally:
        rest.shutdown()
        rest.server_close()
        rpc.stop(0)


def _images(tmp_path):
    """One image file per tiny word, and a broken PNG between them."""
    paths = {}
    for word in TINY_WORDS:
        paths[word] = tmp_path / f"{word}.png"
        render_text(word).save(paths[word])
    paths["broken"] = tmp_path / "broken.png"
    paths["broken"].write_bytes(BAD_PNG)
    return paths


@pytest.mark.parametrize("protocol", ["rest", "grpc"])
def test_command_line_reads_through_the_server_and_reports_only_the_bad_image(served, stand_in_servers, tmp_path,
                                                                              protocol):
    rest_url, grpc_target = stand_in_servers
    paths = _images(tmp_path)
    order = TINY_WORDS[:4] + ["broken"] + TINY_WORDS[4:]
    where = ["--rest", rest_url] if protocol == "rest" else ["--grpc", grpc_target, "--model_name", MODEL_NAME]
    result = run_module("tf_crnn.serving_client", *where, *[paths[name] for name in order], "--json",
                        "--batch_size", "4", timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    rows = {os.path.basename(row["path"]): row for row in json.loads(result.stdout)}
    assert list(rows) == [f"{name}.png" for name in order]
    assert rows["broken.png"]["text"] is None and rows["broken.png"]["error"]
    assert "1 image(s) could not be read" in result.stderr
    words = [rows[f"{word}.png"]["text"] for word in TINY_WORDS]
    assert words == read_directly(served, [paths[word].read_bytes() for word in TINY_WORDS])
    assert_mostly_right(words, TINY_WORDS)
    assert all(0.0 < rows[f"{word}.png"]["confidence"] <= 1.0 for word in TINY_WORDS)
    # The server refused a request and still serves: the same process answers again.
    bird = [png_bytes("bird")]
    assert serving_client.rest_predict(rest_url, bird)[0].word == read_directly(served, bird)[0]
    assert serving_client.grpc_predict(grpc_target, MODEL_NAME, bird)[0].word == read_directly(served, bird)[0]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_command_line_sends_images_as_they_look(stand_in_servers, tmp_path):
    """A CMYK JPEG, an EXIF-rotated photo and text drawn by transparency (tests/test_image_rule.py)."""
    from test_image_rule import CASES

    rest_url, _ = stand_in_servers
    for name, (word, make) in CASES.items():
        (tmp_path / name).write_bytes(make(word))
    result = run_module("tf_crnn.serving_client", "--rest", rest_url, *[tmp_path / name for name in CASES], "--json",
                        timeout=120)
    assert result.returncode == 0, result.stderr
    assert [row["text"] for row in json.loads(result.stdout)] == [word for word, _ in CASES.values()]


def test_command_line_errors_are_clean(stand_in_servers, tmp_path):
    rest_url, grpc_target = stand_in_servers
    image = _images(tmp_path)["cat"]
    port = _closed_port()
    assert_clean_error(run_module("tf_crnn.serving_client", "--rest", f"http://127.0.0.1:{port}/v1/models/crnn:predict",
                                  image), "cannot reach")
    assert_clean_error(run_module("tf_crnn.serving_client", "--rest", rest_url.replace(MODEL_NAME, "nope"), image),
                       "HTTP 404", "Servable not found")
    assert_clean_error(run_module("tf_crnn.serving_client", "--grpc", grpc_target, image), "--model_name")
    assert_clean_error(run_module("tf_crnn.serving_client", "--rest", rest_url, tmp_path / "missing.png"),
                       "missing.png")
    # An answer with fewer readings than images: said, never paired with the wrong files.
    images = _images(tmp_path)
    assert_clean_error(run_module("tf_crnn.serving_client", "--rest", rest_url.replace(MODEL_NAME, SHORT_MODEL),
                                  images["cat"], images["dog"]), "the server answered 1 readings for 2 images")


def test_docker_set_up_serves_the_export_folder(trained_tiny, tmp_path):
    root, _ = trained_tiny
    base_path = root / "model" / "export" / "best"
    script = os.path.join(REPO, "scripts", "serve_docker.sh")
    result = subprocess.run(["bash", script, str(base_path), "--dry_run"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    command = result.stdout.split()
    assert command[:2] == ["docker", "run"] and command[-1] == "tensorflow/serving:2.15.1"
    assert {"8500:8500", "8501:8501", f"{base_path}:/models/crnn:ro", "MODEL_NAME=crnn"} <= set(command)
    assert os.path.basename(newest_version(base_path)) in result.stderr  # the version TF Serving will load
    result = subprocess.run(["bash", script, str(tmp_path)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and result.stderr.startswith("error: MODEL_BASE_PATH") and "numbered" in result.stderr
    with open(os.path.join(REPO, "docs", "docker-compose.yml"), encoding="utf-8") as handle:
        compose = handle.read()
    for fragment in ("image: tensorflow/serving:2.15.1", '"8500:8500"', '"8501:8501"', "MODEL_NAME: crnn",
                     "target: /models/crnn"):
        assert fragment in compose
