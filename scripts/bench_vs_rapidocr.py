"""tf_crnn's shipped export against RapidOCR's recognizers on the same IIIT5K crops.

Issue 18 asks for serving that is fast next to what users would pick instead, and issue 33
sets the same bar against RapidOCR's newer release. All systems read the first `--images`
crops of ../shared/benchmarks/IIIT5K/labels.tsv as encoded bytes, in one run: tf_crnn's
`serving_default` (default: the newest version of tf_crnn/pretrained/crnn_words) at batch 1
(one image a call) and batch 64; the same weights as a TFLite core (builtin ops, int8
weights and activations calibrated on words the project's renderer draws from the export's
own alphabet, or `--tflite_form fp16`; one signature for each of the `--tflite_widths`,
each crop run on the narrowest that holds it, made with tf_crnn.tflite_convert) in
ai-edge-litert with 2 threads, preprocessing and numpy greedy decoding included, at batch
1 (`--no_tflite` skips it); and two RapidOCR releases at batch 1, each on ONNX Runtime
with 2 intra-op threads, recognition only (use_det=False, use_cls=False, use_rec=True):
rapidocr-onnxruntime 1.4.4 (PP-OCRv4 recognizer) and rapidocr 3.10.0 (its bundled
PP-OCRv6 small recognizer). Each row gets words/s, p50 and p99 latency per call and the
alphanumeric case-insensitive word accuracy on those crops; then the ratios against the
targets, against each RapidOCR row (issue 18's against 1.4.4, issue 33's against 3.10.0:
tf_crnn batch 1 at least 1.5x, batch 64 at least 5x, and the TFLite row held to batch 1's
1.5x against both), the CPU's vector features, whether oneDNN was capped by
ONEDNN_MAX_CPU_ISA (a cap keeps oneDNN on: AVX2 on an AVX-512 CPU is not the kernels an
AVX2-only CPU runs) and TF_ENABLE_ONEDNN_OPTS (0: TensorFlow's own kernels, as on an
AVX2-only CPU). A benchmark, not a test: nothing is asserted about speed. Writes
benchmarks/results/vs_rapidocr.json, whose "peers" holds each RapidOCR's package and
versions (or why it was skipped) under "rapidocr_1_4_4" and "rapidocr_3_10_0".

The systems take turns: each reads all the crops once, then the next, `--repeats` rounds;
words/s is over all the passes, and each row lists its passes' own figures. On the 2-core
AMD EPYC of 2026-12-04, RapidOCR 1.4.4's passes run back to back in a worker alone on the
machine swung between about 37 and 76 words/s from one pass to the next (tf_crnn's stay
within 10%), so three passes in one block, as this script ran them before, gave it
anything from 43 to 73. Taking turns, it read 73 to 77 in every one of 10 passes: the
comparison is against the peer at its fastest, and a drift of the machine falls on all.

RapidOCR needs numpy 2 and its own onnxruntime, so each release runs in a virtual
environment of its own (benchmarks/peers/rapidocr/.venv for 1.4.4, `--peer_env`;
benchmarks/peers/rapidocr3/.venv for 3.10.0, `--peer3_env`), in a worker process that
stays up for the whole run and reads a pass when asked (benchmarks/peers/rapidocr_worker.py).
`--make_peer_env` makes both environments (`--make_peer_env 1.4.4` or `3.10.0`: one) and
stops. A release whose environment is missing has its row skipped, with a line saying how
to make it.

    python scripts/bench_vs_rapidocr.py --make_peer_env [1.4.4|3.10.0]
    python scripts/bench_vs_rapidocr.py [--images 300] [--repeats 10] [--saved_model DIR] [--benchmarks DIR]
        [--tflite_form int8|fp16] [--tflite_widths 64,96,128,192,256] [--peer_env DIR] [--peer3_env DIR]
"""

import argparse
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

from common import cpu_name, latency_percentiles, write_result  # the scripts folder is sys.path[0]

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from tf_crnn.errors import ConfigError, DataError, UserError, exit_on_user_error  # noqa: E402
from tf_crnn.model_files import read_metadata  # noqa: E402
from tf_crnn.export.calibration import CALIBRATION_SEED  # noqa: E402
from tf_crnn.export.tflite import parse_widths  # noqa: E402

SHIPPED_MODEL = os.path.join(REPO, "tf_crnn", "pretrained", "crnn_words")
PEERS_DIR = os.path.join(REPO, "benchmarks", "peers")
PEER_WORKER = os.path.join(PEERS_DIR, "rapidocr_worker.py")
PEER_PYTHON = "python3.11"
PEER_THREADS = 2
BATCH_SIZES = (1, 64)
TFLITE_FORMS = ("int8", "fp16")  # the first is the default
# Words/s of these rows over each RapidOCR row's (issue 18 against 1.4.4, issue 33 against 3.10.0).
TARGETS = {"tf_crnn batch 1": 1.5, "tf_crnn batch 64": 5.0,
           **{f"tf_crnn TFLite {form} batch 1": 1.5 for form in TFLITE_FORMS}}


@dataclass(frozen=True)
class Peer:
    """One RapidOCR release: its row, its environment and how the worker calls it."""

    version: str  # --make_peer_env's choice
    api: str  # the worker's: the module it imports
    packages: tuple  # what pip installs in its environment
    env: str  # its environment's default folder
    env_flag: str  # the flag that names another
    issue: int  # the issue whose targets the ratios against it are
    recognizer: str
    call: str

    @property
    def name(self) -> str:
        return f"RapidOCR {self.version}"

    @property
    def row(self) -> str:
        return f"{self.name} batch 1"

    @property
    def key(self) -> str:
        """The report's key for it under "peers"."""
        return "rapidocr_" + self.version.replace(".", "_")


PEERS = (
    Peer("1.4.4", "rapidocr_onnxruntime", ("rapidocr-onnxruntime==1.4.4",),
         os.path.join(PEERS_DIR, "rapidocr", ".venv"), "--peer_env", 18,
         "PP-OCRv4 (ch_PP-OCRv4_rec_infer.onnx, in the wheel)",
         f"RapidOCR(intra_op_num_threads={PEER_THREADS})(image_bytes, use_det=False, use_cls=False, use_rec=True)"
         "[0][0][0]"),
    Peer("3.10.0", "rapidocr", ("rapidocr==3.10.0", "onnxruntime"),
         os.path.join(PEERS_DIR, "rapidocr3", ".venv"), "--peer3_env", 33,
         "PP-OCRv6 small (PP-OCRv6_rec_small.onnx, in the wheel)",
         f'RapidOCR(params={{"EngineConfig.onnxruntime.intra_op_num_threads": {PEER_THREADS}}})'
         "(image_bytes, use_det=False, use_cls=False, use_rec=True).txts[0]"),
)
CPU_FEATURES = re.compile(r"avx512[a-z_0-9]*|avx2|amx[a-z_0-9]*")  # the grep of the issue


def load_crops(benchmarks: str, count: int):
    """(path, encoded bytes, label) of the first `count` crops of IIIT5K/labels.tsv."""
    labels = os.path.join(benchmarks, "IIIT5K", "labels.tsv")
    if not os.path.isfile(labels):
        raise DataError(f"no benchmark labels at {labels} (--benchmarks names the folder holding IIIT5K/)")
    from tf_crnn.evaluation.samples import load_samples

    return load_samples(labels)[:count]


def alnum_accuracy(words, labels) -> float:
    """The benchmarks' protocol: lower-case, keep [0-9a-z], count exact matches."""
    from tf_crnn.word_metrics import normalize_alnum

    return sum(normalize_alnum(w) == normalize_alnum(t) for w, t in zip(words, labels)) / len(labels)


def speed_figures(latencies, words_per_call) -> dict:
    """Words/s over the whole timed run, and p50/p99 latency per call (common.latency_percentiles)."""
    p50, p99 = latency_percentiles(latencies)
    return {"calls": len(latencies), "words_per_second": round(sum(words_per_call) / sum(latencies), 1),
            "latency_p50_ms": round(p50 * 1000, 2), "latency_p99_ms": round(p99 * 1000, 2)}


class RowFailed(Exception):
    """A system that cannot read the crops: its row says why and the others go on."""


class SavedModelSystem:
    """tf_crnn's `serving_default` at one batch size."""

    def __init__(self, recognizer, images, batch_size: int):
        self.name, self.batch_size = f"tf_crnn batch {batch_size}", batch_size
        self.recognizer = recognizer
        self.batches = [images[start:start + batch_size] for start in range(0, len(images), batch_size)]
        self.warmed_up = False

    def run_pass(self):
        """(words, latency of each call, words of each call) of one pass over the crops."""
        import tensorflow as tf

        try:
            if not self.warmed_up:  # the first call sets up the graph's kernels
                self.recognizer.recognize_bytes(self.batches[0])
                self.warmed_up = True
            words, latencies, sizes = [], [], []
            for batch in self.batches:
                start = time.perf_counter()
                outputs = self.recognizer.recognize_bytes(batch)
                latencies.append(time.perf_counter() - start)
                sizes.append(len(batch))
                words.extend(word.decode("utf-8") for word in outputs["words"])
        except tf.errors.OpError as err:
            # e.g. a bfloat16 export under ONEDNN_MAX_CPU_ISA=AVX2: oneDNN has no primitive for it.
            raise RowFailed(first_cause(err.message)) from None
        return words, latencies, sizes


def first_cause(message: str) -> str:
    """The line of a TensorFlow error that says what went wrong (its others name the graph's nodes)."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    cause = next((line for line in lines if "message:" in line), lines[0] if lines else "unknown error")
    return cause.split("message:", 1)[-1].strip()


def tf_crnn_systems(saved_model: str, crops):
    """(the export's path, a system per batch size)."""
    from tf_crnn.inference.recognizer import Recognizer

    recognizer = Recognizer(saved_model)
    images = [image for _, image, _ in crops]
    return recognizer.path, [SavedModelSystem(recognizer, images, batch_size) for batch_size in BATCH_SIZES]


def interleaved_rows(systems, labels, repeats: int):
    """A row per system from `repeats` rounds of one pass each, in turn; words of the first pass."""
    passes = {system.name: [] for system in systems}
    failed, load_after = {}, {}
    for _ in range(repeats):
        for system in systems:
            if system.name in failed:
                continue
            try:
                passes[system.name].append(system.run_pass())
            except RowFailed as err:
                failed[system.name] = str(err)
            load_after[system.name] = load_1min()
    rows = []
    for system in systems:
        row = {"system": system.name, "batch_size": system.batch_size, **getattr(system, "details", {})}
        if system.name in failed:
            rows.append({**row, "failed": failed[system.name]})
            continue
        latencies = [latency for _, times, _ in passes[system.name] for latency in times]
        sizes = [size for _, _, counts in passes[system.name] for size in counts]
        by_pass = [round(sum(counts) / sum(times), 1) for _, times, counts in passes[system.name]]
        rows.append({**row, **speed_figures(latencies, sizes), "words_per_second_by_pass": by_pass,
                     "alnum_word_accuracy": round(alnum_accuracy(passes[system.name][0][0], labels), 4),
                     "load_1min_after": load_after[system.name]})
    return rows


def tflite_core(saved_model: str, folder: str, widths, form: str, calibration_words: int) -> str:
    """The export's weights as a TFLite core (tf_crnn.tflite_convert), through a model dir
    that holds only the config rebuilt from the export's metadata
    (tf_crnn/export/from_export.py); the checkpoint is the export's variables."""
    from tf_crnn.export.calibration import calibration_shards
    from tf_crnn.export.from_export import stand_in_model_dir
    from tf_crnn.export.tflite import convert

    model_dir = os.path.join(folder, "model")
    checkpoint = stand_in_model_dir(saved_model, model_dir)
    representative = calibration_shards(folder, calibration_words, read_metadata(saved_model)) \
        if form == "int8" else None
    return convert(model_dir, os.path.join(folder, "tflite"), width=widths, forms=(form,), checkpoint=checkpoint,
                   representative=representative, samples=calibration_words)[form]


class TFLiteSystem:
    """The TFLite core at batch 1 in ai-edge-litert: bytes in (the training preprocessing,
    the narrowest of `widths` that holds the crop), numpy greedy decoding, words out."""

    def __init__(self, saved_model: str, crops, widths, folder: str, form: str, calibration_words: int):
        from tf_crnn.inference.runtimes import RuntimeOptions, open_readers

        self.name, self.batch_size = f"tf_crnn TFLite {form} batch 1", 1
        self.details = {"form": form, "widths": list(widths), "threads": PEER_THREADS}
        if form == "int8":
            self.details["calibration"] = f"{calibration_words} rendered words, seed {CALIBRATION_SEED}"
        self.images = [image for _, image, _ in crops]
        core = tflite_core(saved_model, folder, widths, form, calibration_words)
        self.reader = open_readers([core], "tflite", RuntimeOptions(PEER_THREADS, "ai-edge-litert"))[0]
        self.reader.read(self.images[:1], "greedy")  # warm-up

    def run_pass(self):
        words, latencies = [], []
        for image in self.images:
            start = time.perf_counter()
            words.append(self.reader.read([image], "greedy")[0])
            latencies.append(time.perf_counter() - start)
        return words, latencies, [1] * len(latencies)


def load_1min() -> float:
    """The machine is shared: each row carries the load it was measured under."""
    return round(os.getloadavg()[0], 2)


def peer_python(env: str) -> str:
    return os.path.join(env, "bin", "python")


def make_peer_env(peer: Peer, env: str) -> None:
    """A python3.11 virtual environment with `peer` in it (its models ship inside the wheel)."""
    interpreter = shutil.which(PEER_PYTHON)
    if interpreter is None:
        raise ConfigError(f"--make_peer_env needs {PEER_PYTHON} on PATH")
    for command in ([interpreter, "-m", "venv", env], [peer_python(env), "-m", "pip", "install", *peer.packages]):
        print("+ " + " ".join(command), file=sys.stderr)
        if subprocess.run(command).returncode != 0:
            raise UserError(f"making the {peer.name} environment failed at: {' '.join(command)}")
    print(f"made {env}", file=sys.stderr)


class PeerSystem:
    """A RapidOCR release at batch 1: its worker, started once in its own environment, reads
    a pass each time it is asked (benchmarks/peers/rapidocr_worker.py)."""

    def __init__(self, peer: Peer, env: str, crops, stderr):
        self.name, self.batch_size, self.env, self.label = peer.row, 1, env, peer.name
        self.stderr = stderr
        self.process = subprocess.Popen([peer_python(env), PEER_WORKER], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=stderr, text=True)
        ready = self._ask({"api": peer.api, "paths": [path for path, _, _ in crops], "threads": PEER_THREADS})
        self.peer = {"row": peer.row, "package": " ".join(peer.packages), "recognizer": peer.recognizer,
                     "call": peer.call, "intra_op_num_threads": ready["intra_op_num_threads"],
                     "versions": ready["versions"]}

    def _ask(self, request) -> dict:
        """Sends one request line; returns the worker's JSON answer (other output lines are skipped)."""
        try:
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
        except BrokenPipeError:
            pass  # the worker has ended: said below
        for line in self.process.stdout:
            if line.startswith("{"):
                return json.loads(line)
        status = self.process.wait()
        self.stderr.seek(0)
        last = (self.stderr.read().strip().splitlines() or ["no output"])[-1]
        raise UserError(f"the {self.label} worker in {self.env} failed (exit {status}): {last}")

    def run_pass(self):
        answer = self._ask({"pass": True})
        return answer["words"], answer["latencies_s"], [1] * len(answer["latencies_s"])

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            self.process.wait(60)


def skip_line(peer: Peer, env: str) -> str:
    """What the run prints for a peer without its environment: how to make it."""
    make = f"python scripts/bench_vs_rapidocr.py --make_peer_env {peer.version}"
    if os.path.abspath(env) != peer.env:
        make += f" {peer.env_flag} {env}"
    return f"{peer.name} skipped: no environment at {env}; make it with: {make}"


def peer_system(peer: Peer, env: str, crops, stack: contextlib.ExitStack):
    """`peer`'s system, or None (and how to make it) when its environment is missing."""
    if not os.path.isfile(peer_python(env)):
        print(skip_line(peer, env))
        return None
    system = PeerSystem(peer, env, crops, stack.enter_context(tempfile.TemporaryFile("w+")))
    stack.callback(system.close)
    return system


def cpu_features() -> list:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            return sorted(set(CPU_FEATURES.findall(handle.read())))
    except OSError:
        return []


def onednn_isa() -> str:
    """ONEDNN_MAX_CPU_ISA caps the instructions oneDNN uses and keeps oneDNN on: AVX2 on an
    AVX-512 CPU is not the path of an AVX2-only CPU, where TensorFlow runs its own kernels."""
    value = os.environ.get("ONEDNN_MAX_CPU_ISA")
    if not value:
        return "not set (oneDNN uses every feature of the CPU)"
    if value.upper() == "AVX2":
        return f"{value} (oneDNN capped at AVX2; not the kernels of an AVX2-only CPU)"
    return value


def ratios(rows) -> dict:
    """Words/s of each targeted row over each RapidOCR row's, keyed "ROW / PEER ROW"; a
    RapidOCR that was skipped or failed has none."""
    rates = {row["system"]: row["words_per_second"] for row in rows if "words_per_second" in row}
    return {f"{name} / {peer.row}": {"ratio": round(rates[name] / rates[peer.row], 2), "target": target,
                                     "issue": peer.issue}
            for peer in PEERS if peer.row in rates for name, target in TARGETS.items() if name in rates}


def print_table(report: dict) -> None:
    print(f"\n{report['images']} IIIT5K crops, {report['repeats']} timed pass(es); "
          f"load average before/after: {report['load_before']} / {report['load_after']}")
    print(f"{'system':<28} {'words/s':>9} {'p50 ms':>9} {'p99 ms':>9} {'accuracy':>9}  {'passes (words/s)':>17}")
    for row in report["rows"]:
        if "failed" in row:
            print(f"{row['system']:<28} failed: {row['failed']}")
            continue
        passes = row["words_per_second_by_pass"]
        print(f"{row['system']:<28} {row['words_per_second']:>9.1f} {row['latency_p50_ms']:>9.2f} "
              f"{row['latency_p99_ms']:>9.2f} {row['alnum_word_accuracy']:>9.1%}  "
              f"{min(passes):>8.1f} to {max(passes):.1f}")
    for name, figures in report["ratios"].items():
        verdict = "meets" if figures["ratio"] >= figures["target"] else "misses"
        print(f"{name}: {figures['ratio']:.2f}x ({verdict} issue {figures['issue']}'s {figures['target']}x target)")
    print(f"CPU: {report['cpu']}; features: {' '.join(report['cpu_features']) or 'none found'}")
    print(f"ONEDNN_MAX_CPU_ISA: {report['onednn_max_cpu_isa']}; "
          f"TF_ENABLE_ONEDNN_OPTS: {report['tf_enable_onednn_opts']}")


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=positive, default=300, help="how many IIIT5K crops, from the top")
    parser.add_argument("--repeats", type=positive, default=10,
                        help="rounds of timed passes, one pass over the crops a system a round (default 10)")
    parser.add_argument("--saved_model", default=SHIPPED_MODEL, help="a serving SavedModel or a folder of versions")
    parser.add_argument("--benchmarks", default=os.path.join(os.path.dirname(REPO), "shared", "benchmarks"),
                        help="folder holding IIIT5K/labels.tsv")
    parser.add_argument("--tflite_widths", type=parse_widths, default=(64, 96, 128, 192, 256),
                        help="the TFLite core's input widths, comma-separated multiples of 4 (default "
                             "64,96,128,192,256); crops wider than the widest are squeezed")
    parser.add_argument("--tflite_form", choices=TFLITE_FORMS, default=TFLITE_FORMS[0],
                        help="the TFLite core's arithmetic: int8 (weights and activations, calibrated on "
                             "rendered words; the default) or fp16 (float16 weights)")
    parser.add_argument("--calibration_words", type=positive, default=200,
                        help="rendered words (the export's alphabet) that calibrate the int8 core (default 200)")
    parser.add_argument("--no_tflite", action="store_true", help="skip the TFLite row")
    for peer in PEERS:
        parser.add_argument(peer.env_flag, default=peer.env,
                            help=f"{peer.name}'s virtual environment (default {os.path.relpath(peer.env, REPO)})")
    parser.add_argument("--make_peer_env", nargs="?", const="all", choices=("all", *(p.version for p in PEERS)),
                        help="make the RapidOCR environments (all, the default, or one release's) at "
                             + " and ".join(p.env_flag for p in PEERS) + ", and stop")
    parser.add_argument("--output", default=os.path.join(REPO, "benchmarks", "results", "vs_rapidocr.json"))
    return parser.parse_args(argv)  # a bad flag: argparse's usage and one `error:` line, exit 2


def peer_env(args, peer: Peer) -> str:
    """The environment folder `peer`'s flag names."""
    return getattr(args, peer.env_flag.lstrip("-"))


@exit_on_user_error
def main(argv=None):
    args = parse_args(argv)
    if args.make_peer_env:
        for peer in PEERS:
            if args.make_peer_env in ("all", peer.version):
                make_peer_env(peer, peer_env(args, peer))
        return
    load_before = [round(x, 2) for x in os.getloadavg()]
    crops = load_crops(args.benchmarks, args.images)
    with contextlib.ExitStack() as stack:
        saved_model, systems = tf_crnn_systems(args.saved_model, crops)
        if not args.no_tflite:
            folder = stack.enter_context(tempfile.TemporaryDirectory())
            systems.append(TFLiteSystem(saved_model, crops, args.tflite_widths, folder, args.tflite_form,
                                        args.calibration_words))
        peers = {}
        for peer in PEERS:
            env = peer_env(args, peer)
            system = peer_system(peer, env, crops, stack)
            peers[peer.key] = system.peer if system else {"row": peer.row, "package": " ".join(peer.packages),
                                                          "skipped": f"no environment at {env}"}
            systems += [system] if system else []
        rows = interleaved_rows(systems, [label for _, _, label in crops], args.repeats)
    report = {"benchmark": "vs_rapidocr", "saved_model": os.path.relpath(saved_model, REPO),
              "images": len(crops), "input": "first IIIT5K/labels.tsv crops, encoded bytes", "repeats": args.repeats,
              "rows": rows, "ratios": ratios(rows),
              "peers": peers,
              "cpu": f"{cpu_name()}, {os.cpu_count()} cores", "cpu_features": cpu_features(),
              "onednn_max_cpu_isa": onednn_isa(),
              "tf_enable_onednn_opts": os.environ.get("TF_ENABLE_ONEDNN_OPTS") or "not set",
              "load_before": load_before,
              "load_after": [round(x, 2) for x in os.getloadavg()]}
    write_result(report, args.output)
    print_table(report)


if __name__ == "__main__":
    main()
