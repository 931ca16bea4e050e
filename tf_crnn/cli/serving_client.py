"""`tf-crnn serving-client --rest URL | --grpc HOST:PORT IMAGES...` (also
`python -m tf_crnn.serving_client`): read images with a tf_crnn model served by TF Serving,
through the clients of tf_crnn/serving_client.py (a batch TF Serving refuses is read again
one image at a time, so only the bad image is reported)."""

import json
import sys

from tf_crnn.cli import ArgumentParser
from tf_crnn.errors import DataError, UserError, exit_on_user_error
from tf_crnn.serving_client import SIGNATURE, serving_apis, grpc_predict, read_batches, rest_predict


@exit_on_user_error
def main(argv=None, prog: str = "python -m tf_crnn.serving_client"):
    parser = ArgumentParser(prog=prog,
                            description="Read images with a tf_crnn model served by TF Serving.")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--rest", metavar="URL", help="predict URL, e.g. http://localhost:8501/v1/models/crnn:predict")
    where.add_argument("--grpc", metavar="HOST:PORT", help="gRPC address, e.g. localhost:8500")
    parser.add_argument("--model_name", default=None, help="model name for --grpc (TF Serving's --model_name)")
    parser.add_argument("--model_version", type=int, default=None, help="for --grpc (default: the newest)")
    parser.add_argument("--signature_name", default=SIGNATURE)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    parser.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    parser.add_argument("paths", nargs="+", help="image files or folders")
    return run(parser.parse_args(argv))


def run(args):
    from tf_crnn.inference.files import find_images

    if args.rest and not args.rest.startswith(("http://", "https://")):
        raise UserError(f"--rest takes a URL starting with http:// or https://, got {args.rest!r}")
    if args.grpc and not args.model_name:
        raise UserError("--grpc needs --model_name (the name TF Serving serves the model under)")
    if args.batch_size < 1:
        raise UserError(f"--batch_size must be 1 or more, got {args.batch_size}")
    images = find_images(args.paths)
    if not images:
        raise DataError("no image files found in " + ", ".join(args.paths))
    if args.rest:
        def predict(batch):
            return rest_predict(args.rest, batch, args.timeout, args.signature_name)
    else:
        serving_apis()  # fail before reading any image when the package is missing

        def predict(batch):
            return grpc_predict(args.grpc, args.model_name, batch, args.timeout, args.signature_name,
                                args.model_version)

    rows = list(read_batches(predict, images, args.batch_size))
    if args.json:
        # The keys of `python -m tf_crnn.predict --json`, plus the beams.
        print(json.dumps([{"path": path, "text": reading.word, "confidence": reading.confidence,
                           "top_words": reading.top_words, "top_scores": reading.top_scores,
                           **({"chars": reading.chars} if reading.chars is not None else {})}
                          if reading else {"path": path, "text": None, "confidence": None, "error": error}
                          for path, reading, error in rows], ensure_ascii=False, indent=2))
    else:
        for path, reading, error in rows:
            print(f"{path}\tERROR: {error}" if error else f"{path}\t{reading.word}\t{reading.confidence:.3f}")
    failed = sum(1 for row in rows if row[2])
    if failed:
        print(f"{failed} image(s) could not be read", file=sys.stderr)
    return 0
