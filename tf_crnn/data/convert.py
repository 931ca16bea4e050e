"""`python -m tf_crnn.data.convert`: annotation files + images -> sharded TFRecords.

The run is planned before anything is written: annotations are read and checked, split
into train and validation with a seeded shuffle, and cut into shards. Each shard is then
written by a worker into a staging folder inside the output dir; only when every shard is
complete are they moved to their final names, so a reader never sees a partial set. A
killed run keeps its finished shards in staging, and the same command picks up where it
stopped without re-encoding them.
"""

import argparse
import collections
import hashlib
import json
import multiprocessing
import os
import random
import shutil
import sys
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from tf_crnn.data import images
from tf_crnn.data.formats import Sample
from tf_crnn.data.formats.list_file import read_list_file
from tf_crnn.errors import DataError, UserError, exit_on_user_error

FORMATS = {"list": read_list_file}
POLICIES = ("skip", "stop")
_STAGING = ".staging-{prefix}"
_MAX_LISTED = 200


@dataclass
class ShardTask:
    staging_path: str
    samples: List[Tuple[str, str, str]]  # (image path, label, "file:line")
    stop_on_bad: bool


@dataclass
class ShardStats:
    written: int = 0
    skipped: List[Tuple[str, str]] = field(default_factory=list)  # (where, reason)
    label_lengths: Dict[int, int] = field(default_factory=dict)
    characters: Dict[str, int] = field(default_factory=dict)


def _read_image(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def write_one_shard(task: ShardTask) -> Tuple[str, dict]:
    """Worker: reads, checks and writes one shard; returns its path and statistics."""
    from tf_crnn.data.schema import make_example
    from tf_crnn.data.writer import write_shard

    stats = ShardStats()
    lengths = collections.Counter()
    characters = collections.Counter()

    def records():
        for image_path, label, where in task.samples:
            try:
                data = images.checked_image_bytes(_read_image(image_path))
            except (OSError, images.BadImage) as err:
                reason = err.strerror if isinstance(err, OSError) else str(err)
                if task.stop_on_bad:
                    raise DataError(f"{where}: {image_path}: {reason}") from None
                stats.skipped.append((where, f"{image_path}: {reason}"))
                continue
            lengths[len(label)] += 1
            characters.update(label)
            yield make_example(data, label, image_path)

    stats.written = write_shard(task.staging_path, records())
    stats.label_lengths = dict(lengths)
    stats.characters = dict(characters)
    with open(task.staging_path + ".stats.tmp", "w", encoding="utf-8") as handle:
        json.dump(stats.__dict__, handle)
    os.replace(task.staging_path + ".stats.tmp", task.staging_path + ".stats")
    return task.staging_path, stats.__dict__


def _check_label(sample: Sample, alphabet, lowercase: bool) -> Optional[str]:
    if alphabet is None:
        return None
    unknown = alphabet.unknown_units(sample.label.lower() if lowercase else sample.label)
    if unknown:
        shown = "".join(sorted(set(unknown)))
        return f"label {sample.label!r} has characters outside the alphabet: {shown!r}"
    return None


def read_annotations(args, alphabet) -> Tuple[List[Sample], List[Tuple[str, str]]]:
    """All usable samples and the (where, reason) of every unusable line, in file order."""
    reader = FORMATS[args.format]
    good, bad = [], []
    for annotation in args.annotations:
        root = args.image_root or os.path.dirname(os.path.abspath(annotation))
        for sample in reader(annotation, image_root=root):
            error = sample.error or _check_label(sample, alphabet, args.lowercase)
            if error:
                if args.on_bad_input == "stop":
                    raise DataError(f"{sample.where}: {error}")
                bad.append((sample.where, error))
            else:
                good.append(sample)
    return good, bad


def plan_shards(samples: List[Sample], args) -> List[Tuple[str, str, List[Sample]]]:
    """Seeded split and shard cut: [(split name, final file name, samples)]."""
    from tf_crnn.data.writer import shard_name

    order = list(range(len(samples)))
    random.Random(args.seed).shuffle(order)
    val_count = int(round(len(samples) * args.val_ratio))
    splits = [("val", order[:val_count]), ("train", order[val_count:])] if val_count else [("train", order)]
    plan = []
    for split, indices in splits:
        prefix = f"{args.prefix}-{split}" if val_count else args.prefix
        total = max(1, -(-len(indices) // args.examples_per_shard))
        for shard in range(total):
            chunk = indices[shard * args.examples_per_shard:(shard + 1) * args.examples_per_shard]
            plan.append((split, shard_name(prefix, shard, total), [samples[i] for i in chunk]))
    return plan


def _plan_fingerprint(plan) -> str:
    digest = hashlib.sha256()
    for split, name, samples in plan:
        digest.update(f"{split}\0{name}\0".encode())
        for sample in samples:
            digest.update(f"{sample.image_path}\0{sample.label}\0".encode())
    return digest.hexdigest()


def _prepare_staging(staging: str, fingerprint: str) -> None:
    """Keeps a staging folder from an interrupted run of the same plan; clears any other."""
    marker = os.path.join(staging, "plan.sha256")
    if os.path.isdir(staging):
        previous = open(marker, encoding="utf-8").read() if os.path.isfile(marker) else ""
        if previous != fingerprint:
            shutil.rmtree(staging)
    os.makedirs(staging, exist_ok=True)
    for name in os.listdir(staging):
        if ".tmp" in name:
            os.remove(os.path.join(staging, name))
    with open(marker, "w", encoding="utf-8") as handle:
        handle.write(fingerprint)


class Progress:
    """A one-line progress bar on stderr with images/s and ETA."""

    def __init__(self, total: int, done: int = 0):
        self.total, self.done, self.start, self.start_done = total, done, time.time(), done
        self.last_print = 0.0

    def advance(self, count: int) -> None:
        self.done += count
        now = time.time()
        if now - self.last_print < 0.5 and self.done < self.total:
            return
        self.last_print = now
        rate = (self.done - self.start_done) / max(now - self.start, 1e-6)
        eta = (self.total - self.done) / rate if rate > 0 else float("inf")
        width = 30
        filled = int(width * self.done / max(self.total, 1))
        sys.stderr.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} "
            f"{rate:7.0f} images/s  ETA {eta:6.0f}s"
        )
        if self.done >= self.total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    @property
    def rate(self) -> float:
        return (self.done - self.start_done) / max(time.time() - self.start, 1e-6)


def build_report(plan, shard_stats, bad_lines, alphabet, elapsed, rate) -> dict:
    lengths, characters = collections.Counter(), collections.Counter()
    skipped = list(bad_lines)
    written = collections.Counter()
    for split, name, _ in plan:
        stats = shard_stats[name]
        written[split] += stats["written"]
        lengths.update({int(k): v for k, v in stats["label_lengths"].items()})
        characters.update(stats["characters"])
        skipped.extend(tuple(item) for item in stats["skipped"])
    reasons = collections.Counter(reason.split(":")[0] if reason.startswith("label ") else _reason_kind(reason)
                                  for _, reason in skipped)
    report = {
        "written": dict(written),
        "written_total": sum(written.values()),
        "skipped_total": len(skipped),
        "skipped_by_reason": dict(reasons),
        "skipped": [{"where": where, "reason": reason} for where, reason in skipped[:_MAX_LISTED]],
        "label_length_histogram": {str(k): lengths[k] for k in sorted(lengths)},
        "characters_seen": "".join(sorted(characters)),
        "shards": [name for _, name, _ in plan],
        "seconds": round(elapsed, 2),
        "images_per_second": round(rate, 1),
    }
    if alphabet is not None:
        report["alphabet_units_unused"] = [u for u in alphabet.units if u not in characters]
    return report


def _reason_kind(reason: str) -> str:
    text = reason.lower()
    for kind in ("no label", "image not found", "empty file", "not an image", "does not decode",
                 "outside the alphabet", "no pixels"):
        if kind in text:
            return kind
    return "other"


def print_report(report: dict, report_path: str) -> None:
    print(f"written: {report['written_total']} examples ({', '.join(f'{k} {v}' for k, v in report['written'].items())})")
    print(f"skipped: {report['skipped_total']}" +
          (" (" + ", ".join(f"{k}: {v}" for k, v in report["skipped_by_reason"].items()) + ")" if report["skipped_total"] else ""))
    for item in report["skipped"][:10]:
        print(f"  {item['where']}: {item['reason']}")
    print("label lengths: " + " ".join(f"{k}:{v}" for k, v in report["label_length_histogram"].items()))
    print(f"characters seen: {report['characters_seen']!r}")
    if report.get("alphabet_units_unused"):
        print(f"alphabet units never seen: {''.join(report['alphabet_units_unused'])!r}")
    print(f"{report['images_per_second']} images/s; report written to {report_path}")


def convert(args) -> dict:
    """Runs a whole conversion; returns the report."""
    from tf_crnn.alphabet import Alphabet

    alphabet = Alphabet.from_file(args.alphabet_file) if args.alphabet_file else None
    samples, bad_lines = read_annotations(args, alphabet)
    if not samples:
        raise DataError("no usable sample in " + ", ".join(args.annotations) +
                        (f" (first problem: {bad_lines[0][0]}: {bad_lines[0][1]})" if bad_lines else ""))
    plan = plan_shards(samples, args)
    os.makedirs(args.output_dir, exist_ok=True)
    staging = os.path.join(args.output_dir, _STAGING.format(prefix=args.prefix))
    _prepare_staging(staging, _plan_fingerprint(plan))

    shard_stats, tasks = {}, []
    for _, name, chunk in plan:
        path = os.path.join(staging, name)
        if os.path.isfile(path) and os.path.isfile(path + ".stats"):
            with open(path + ".stats", encoding="utf-8") as handle:
                shard_stats[name] = json.load(handle)
        else:
            tasks.append(ShardTask(path, [(s.image_path, s.label, s.where) for s in chunk], args.on_bad_input == "stop"))
    done = sum(len(chunk) for _, name, chunk in plan if name in shard_stats)
    if done:
        print(f"resuming: {len(shard_stats)} of {len(plan)} shards already written", file=sys.stderr)
    progress = Progress(len(samples), done)
    start = time.time()
    workers = max(1, min(args.workers, len(tasks) or 1))
    if tasks:
        context = multiprocessing.get_context("fork")
        with context.Pool(workers) as pool:
            try:
                for path, stats in pool.imap_unordered(write_one_shard, tasks):
                    shard_stats[os.path.basename(path)] = stats
                    progress.advance(stats["written"] + len(stats["skipped"]))
            except UserError:
                pool.terminate()
                sys.stderr.write("\n")
                raise
    for _, name, _ in plan:
        os.replace(os.path.join(staging, name), os.path.join(args.output_dir, name))
    report = build_report(plan, shard_stats, bad_lines, alphabet, time.time() - start, progress.rate)
    report_path = os.path.join(args.output_dir, f"{args.prefix}-report.json")
    with open(report_path + ".tmp", "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=2, ensure_ascii=False)
    os.replace(report_path + ".tmp", report_path)
    shutil.rmtree(staging)
    print_report(report, report_path)
    return report


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tf_crnn.data.convert",
                                     description="Convert annotation files and their images into sharded TFRecords.")
    parser.add_argument("annotations", nargs="+", help="annotation files")
    parser.add_argument("--output_dir", required=True, help="folder for the shards and the report")
    parser.add_argument("--prefix", default="data", help="shard name prefix (default: data)")
    parser.add_argument("--image_root", default=None,
                        help="folder relative image paths start from (default: each annotation file's folder)")
    parser.add_argument("--format", default="list", choices=sorted(FORMATS), help="annotation format")
    parser.add_argument("--examples_per_shard", type=int, default=1000)
    parser.add_argument("--val_ratio", type=float, default=0.0,
                        help="fraction written to PREFIX-val shards (train goes to PREFIX-train)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the train/validation split")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--alphabet_file", default=None, help="labels with units outside it are bad input")
    parser.add_argument("--lowercase", action="store_true", help="check labels lower-cased against the alphabet")
    parser.add_argument("--on_bad_input", default="skip", choices=POLICIES,
                        help="skip bad lines/images (listed in the report) or stop at the first one")
    args = parser.parse_args(argv)
    if args.examples_per_shard < 1:
        parser.error("--examples_per_shard must be at least 1")
    if not 0.0 <= args.val_ratio < 1.0:
        parser.error("--val_ratio must be in [0, 1)")
    return args


@exit_on_user_error
def main(argv=None):
    convert(parse_args(argv))


if __name__ == "__main__":
    main(sys.argv[1:])
