"""Clients for a tf_crnn model in TF Serving: REST and gRPC requests in, words out.

    tf-crnn serving-client --rest http://localhost:8501/v1/models/crnn:predict IMAGES...
    tf-crnn serving-client --grpc localhost:8500 --model_name crnn IMAGES...

(the command: tf_crnn/cli/serving_client.py; `python -m tf_crnn.serving_client` too).

Both send the encoded image files as they are (PNG, JPEG, GIF, BMP) to the export's
`serving_default` signature, which decodes and resizes them inside the graph. The REST
body is TF Serving's row format, `{"signature_name": "serving_default", "instances":
[{"b64": ...}, ...]}` (the signature has one input, `images`, so each instance is just
its value). The gRPC request is a `PredictRequest` whose `images` input is a DT_STRING
tensor of shape [batch].

The REST client needs only the standard library. The gRPC client needs
`tensorflow-serving-api` (installed with `--no-deps`, see docs/serving_and_cluster.md),
which brings the protos and the stub; grpcio and TensorFlow come with tf_crnn.

One image that does not decode makes TF Serving refuse the whole request (HTTP 400 or
INVALID_ARGUMENT); `read_batches` then retries that batch one image at a time, so
only that image is reported and the others are still read, as `python -m tf_crnn.predict`
does.
"""

import base64
import json
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import List, Optional

from tf_crnn.data.images import BadImage, read_checked_image
from tf_crnn.errors import UserError

SIGNATURE = "serving_default"
INPUT = "images"
GRPC_SERVING_API_HINT = ("the gRPC client needs tensorflow-serving-api: pip install --no-deps "
                         "tensorflow-serving-api==2.15.1 (--no-deps: its own requirement 'tensorflow' would "
                         "install a second TensorFlow beside tensorflow-cpu)")


class ServingError(UserError):
    """The server could not be reached or refused the request; the message says which and why."""

    def __init__(self, message: str, rejected: bool = False):
        super().__init__(message)
        # True when the server answered that the request itself is bad (e.g. an image that
        # does not decode), so retrying other images makes sense; False when it is unreachable.
        self.rejected = rejected


@dataclass
class Reading:
    """What the model read in one image."""

    word: str
    confidence: float
    top_words: List[str] = field(default_factory=list)
    top_scores: List[float] = field(default_factory=list)
    # Each unit's text, probability and x range (exports since 2026-12-02; None before).
    chars: Optional[List[dict]] = None


def _unit_rows(chars, confidences, x_ranges) -> Optional[List[dict]]:
    """`chars` of one reading from the three padded outputs (None when the export has none)."""
    if chars is None:
        return None
    return [{"char": unit, "confidence": float(confidence), "x_range": [int(x) for x in x_range]}
            for unit, confidence, x_range in zip(chars, confidences, x_ranges) if int(x_range[0]) >= 0]


# ---------------------------------------------------------------- REST

def rest_request_body(images: List[bytes], signature_name: str = SIGNATURE) -> dict:
    """TF Serving's REST predict body (row format) for a batch of encoded images."""
    return {
        "signature_name": signature_name,
        "instances": [{"b64": base64.b64encode(data).decode("ascii")} for data in images],
    }


def _json_string(value) -> str:
    """A DT_STRING value of a REST answer: plain text, or {"b64": ...} for outputs named *_bytes."""
    if isinstance(value, dict) and "b64" in value:
        return base64.b64decode(value["b64"]).decode("utf-8")
    return value


def parse_rest_response(body: dict) -> List[Reading]:
    """Readings from a REST predict answer, row (`predictions`) or column (`outputs`) format."""
    if "error" in body:
        raise ServingError(f"server refused the request: {body['error']}", rejected=True)
    if "predictions" in body:
        rows = body["predictions"]
    elif "outputs" in body:
        columns = body["outputs"]
        rows = [dict(zip(columns, values)) for values in zip(*columns.values())]
    else:
        raise ServingError(f"answer has neither 'predictions' nor 'outputs': {str(body)[:200]}")
    readings = []
    for row in rows:
        if not isinstance(row, dict) or "words" not in row or "confidences" not in row:
            raise ServingError(f"answer rows lack 'words' and 'confidences' (is this a tf_crnn export?): "
                               f"{str(row)[:200]}")
        readings.append(Reading(
            word=_json_string(row["words"]),
            confidence=float(row["confidences"]),
            top_words=[_json_string(w) for w in row.get("top_words", [])],
            top_scores=[float(s) for s in row.get("top_scores", [])],
            chars=_unit_rows([_json_string(c) for c in row["chars"]] if "chars" in row else None,
                             row.get("char_confidences", []), row.get("char_x_ranges", [])),
        ))
    return readings


def send_rest(url: str, body: dict, timeout: float = 30.0) -> dict:
    """POSTs `body` as JSON to a TF Serving predict URL; returns the decoded answer."""
    request = urllib.request.Request(url, data=json.dumps(body).encode("utf-8"), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return json.loads(answer.read().decode("utf-8"))
    except urllib.error.HTTPError as err:
        # TF Serving explains refusals in a JSON body: {"error": "..."}.
        try:
            message = json.loads(err.read().decode("utf-8")).get("error", "")
        except (ValueError, AttributeError, OSError):
            message = ""
        raise ServingError(f"{url} answered HTTP {err.code}: {message or err.reason}",
                           rejected=400 <= err.code < 500 and err.code != 404) from None
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise ServingError(f"cannot reach {url}: {reason}") from None
    except ValueError as err:
        raise ServingError(f"{url} did not answer with JSON: {err}") from None


def rest_predict(url: str, images: List[bytes], timeout: float = 30.0,
                 signature_name: str = SIGNATURE) -> List[Reading]:
    return parse_rest_response(send_rest(url, rest_request_body(images, signature_name), timeout))


# ---------------------------------------------------------------- gRPC

def serving_apis():
    try:
        from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc
    except ImportError:
        raise ServingError(GRPC_SERVING_API_HINT) from None
    return predict_pb2, prediction_service_pb2_grpc


def predict_request(images: List[bytes], model_name: str, signature_name: str = SIGNATURE,
                    version: Optional[int] = None):
    """A PredictRequest whose `images` input is a DT_STRING tensor [batch] of encoded images."""
    predict_pb2, _ = serving_apis()
    from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2

    request = predict_pb2.PredictRequest()
    request.model_spec.name = model_name
    request.model_spec.signature_name = signature_name
    if version is not None:
        request.model_spec.version.value = version
    request.inputs[INPUT].CopyFrom(tensor_pb2.TensorProto(
        dtype=types_pb2.DT_STRING,
        tensor_shape=tensor_shape_pb2.TensorShapeProto(dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=len(images))]),
        string_val=list(images),
    ))
    return request


def parse_predict_response(response) -> List[Reading]:
    """Readings from a PredictResponse (its `outputs` are TensorProtos, batch first)."""
    import tensorflow as tf

    outputs = {key: tf.make_ndarray(proto) for key, proto in response.outputs.items()}
    if "words" not in outputs or "confidences" not in outputs:
        raise ServingError(f"answer has outputs {sorted(outputs)}, not 'words' and 'confidences' "
                           "(is this a tf_crnn export?)")
    top_words = outputs.get("top_words")
    top_scores = outputs.get("top_scores")
    return [
        Reading(
            word=outputs["words"][i].decode("utf-8"),
            confidence=float(outputs["confidences"][i]),
            top_words=[w.decode("utf-8") for w in top_words[i]] if top_words is not None else [],
            top_scores=[float(s) for s in top_scores[i]] if top_scores is not None else [],
            chars=_unit_rows([c.decode("utf-8") for c in outputs["chars"][i]] if "chars" in outputs else None,
                             outputs.get("char_confidences", [[]] * (i + 1))[i],
                             outputs.get("char_x_ranges", [[]] * (i + 1))[i]),
        )
        for i in range(len(outputs["words"]))
    ]


def send_grpc(target: str, request, timeout: float = 30.0):
    """Sends a PredictRequest to TF Serving's gRPC port (`host:port`); returns the PredictResponse."""
    import grpc

    _, prediction_service_pb2_grpc = serving_apis()
    with grpc.insecure_channel(target) as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        try:
            return stub.Predict(request, timeout=timeout)
        except grpc.RpcError as err:
            code = err.code()
            rejected = code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION)
            if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                raise ServingError(f"cannot reach {target}: {code.name}: {err.details()}") from None
            raise ServingError(f"{target} answered {code.name}: {err.details()}", rejected=rejected) from None


def grpc_predict(target: str, model_name: str, images: List[bytes], timeout: float = 30.0,
                 signature_name: str = SIGNATURE, version: Optional[int] = None) -> List[Reading]:
    request = predict_request(images, model_name, signature_name, version)
    return parse_predict_response(send_grpc(target, request, timeout))


# ---------------------------------------------------------------- command line

def _one_each(readings: List[Reading], count: int) -> List[Reading]:
    """The server's readings, checked to be one for each image sent: rows paired by
    position with the wrong images would put every word against another file."""
    if len(readings) != count:
        raise ServingError(f"the server answered {len(readings)} readings for {count} images; is the model it "
                           "serves a tf_crnn export, and does a proxy between cut the answer?")
    return readings


def read_batches(predict, paths: List[str], batch_size: int):
    """Yields (path, Reading or None, error or None) per image, batch by batch.

    Each file is checked here first, so a file that is not a readable image gets its own
    error without reaching the server. A batch the server refuses (one bad image fails
    them all) is sent again one image at a time, so only the bad image is reported. An
    unreachable server stops the run.
    """
    for start in range(0, len(paths), batch_size):
        chunk = paths[start:start + batch_size]
        rows, sent = {}, {}
        for path in chunk:
            try:
                sent[path] = read_checked_image(path)  # TIFF, WebP, ... go to the server as PNG
            except BadImage as bad:
                rows[path] = (path, None, str(bad))
        if sent:
            try:
                readings = _one_each(predict(list(sent.values())), len(sent))
                rows.update((path, (path, reading, None)) for path, reading in zip(sent, readings))
            except ServingError as err:
                if not err.rejected:
                    raise
                for path, data in sent.items():
                    try:
                        rows[path] = (path, _one_each(predict([data]), 1)[0], None)
                    except ServingError as single:
                        if not single.rejected:
                            raise
                        rows[path] = (path, None, str(single))
        yield from (rows[path] for path in chunk)


if __name__ == "__main__":
    from tf_crnn.cli.serving_client import main

    sys.exit(main())
