"""Annotations + images -> sharded TFRecords: the library under `tf-crnn convert` and
`python -m tf_crnn.data.convert` (its command line: tf_crnn/cli/convert.py).

A run has three steps:

1. Plan, in this process. Each input is read once, in file order, by the reader of its
   format (`tf_crnn/data/formats/`). A usable sample is kept only as the byte offset of its
   record (one int64 array, plus where each input's offsets start), never as an object,
   so memory stays at 12 bytes a sample with the shuffle (about 110 MB for MJSynth's 9
   million lines). Unusable records are counted by reason and the first few kept for the
   report. A seeded shuffle of an index array makes the train/val split, and consecutive
   slices of it are the shards, all named (with their count) before anything is written.
2. Write, in worker processes. A task is one shard: the (input, offset) pairs of its
   samples. The worker re-reads each record from its offset, reads and fully decodes the
   image, and writes the shard with the one sharded writer into a staging folder in the
   output dir, next to a small statistics file.
3. Finish: when every shard is complete they are moved to their final names together,
   and the report is written.

One run per prefix: a second conversion of the same `--prefix` into the same folder is
refused while the first runs (tf_crnn/data/prefix_lock.py), since both would share the
staging folder and publish over each other.

Resume: the plan's fingerprint (the inputs' bytes, the format options, the offsets kept,
the split and shard settings) is stored in the staging folder. Running the same command
after a stop or `kill -9` gives the same plan, so the shards already written there (those
with their statistics file) are kept as they are and only the others are written.

Processes: no process of a conversion imports TensorFlow: this one plans and reports, and
the workers write shards with tf_crnn/data/tfrecord.py, so a small conversion takes a
fraction of a second to start. Workers are forked when TensorFlow is not loaded here (the
command line); an in-process caller that has loaded it (tests, notebooks) gets them from
a fresh fork server instead.
"""

import array
import collections
import contextlib
import glob
import hashlib
import heapq
import io
import json
import multiprocessing
import os
import shutil
import signal
import sys
import time
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image

from tf_crnn.alphabet import Alphabet
from tf_crnn.data import images
from tf_crnn.data.ctc_fit import FRAME_WIDTH, InputSize, frames_needed
from tf_crnn.data.formats.lines import LineReader, open_records
from tf_crnn.data.formats.registry import FORMAT_NAMES, ReaderOptions, make_reader, resolve_format
from tf_crnn.data.prefix_lock import exclusive_prefix
from tf_crnn.data.writer import shard_name, shard_pattern
from tf_crnn.errors import DataError, UserError

FORMAT_CHOICES = ("auto",) + FORMAT_NAMES
POLICIES = ("skip", "stop")
_STAGING = ".staging-{prefix}"
_LISTINGS = "listings"
_FINGERPRINT = "plan.sha256"
_PLAN_VERSION = b"tf_crnn convert plan 2\0"
_MAX_LISTED = 200
_MAX_TOO_LONG_LISTED = 20


# -- problems: every one counted, the first ones (in annotation order) listed ------------

class Problems:
    """Unusable samples: all counted by kind; the `limit` first by (input, offset) kept.

    Workers find image problems in shuffled order, so the listed ones are kept in a
    bounded heap: the report then lists the first problems of the inputs, whatever order
    they were found in, and memory does not grow with their number.
    """

    def __init__(self, limit: int = _MAX_LISTED):
        self.limit = limit
        self.counts = collections.Counter()
        self._heap = []  # (-input, -offset, where, reason): the root is the last listed one

    def add(self, source: int, offset: int, kind: str, reason: str, where: str = "") -> None:
        self.counts[kind] += 1
        self._keep(source, offset, where, reason)

    def _keep(self, source: int, offset: int, where: str, reason: str) -> None:
        entry = (-source, -offset, where, reason)
        if len(self._heap) < self.limit:
            heapq.heappush(self._heap, entry)
        elif entry > self._heap[0]:
            heapq.heapreplace(self._heap, entry)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def listed(self) -> List[Tuple[int, int, str, str]]:
        """(input, offset, where, reason), first first; `where` is "" until `locate` fills it."""
        return sorted((-s, -o, where, reason) for s, o, where, reason in self._heap)

    def locate(self, readers: Sequence[LineReader]) -> None:
        """Fills in the `file:line` of listed problems found by offset only (in workers)."""
        missing = collections.defaultdict(set)
        for source, offset, where, _ in self.listed():
            if not where:
                missing[source].add(offset)
        found = {source: readers[source].where_at(offsets) for source, offsets in missing.items()}
        self._heap = [(s, o, where or found[-s][-o], reason) for s, o, where, reason in self._heap]

    def merge(self, data: dict) -> None:
        """Adds the problems of a `to_json` dict (a worker's)."""
        self.counts.update(data["counts"])
        for source, offset, where, reason in data["listed"]:
            self._keep(source, offset, where, reason)

    def to_json(self) -> dict:
        return {"counts": dict(self.counts), "listed": [list(item) for item in self.listed()]}


# -- planning ----------------------------------------------------------------------------

@dataclass
class Shard:
    split: str
    name: str
    begin: int  # slice of Plan.order
    end: int


@dataclass
class Plan:
    readers: List[LineReader]
    input_starts: np.ndarray  # int64 [inputs + 1]: index of each input's first kept sample
    offsets: np.ndarray  # int64 [samples]: byte offset of each kept sample's record
    order: np.ndarray  # the seeded shuffle of range(samples): val first, then train
    shards: List[Shard]
    problems: Problems
    outside_alphabet: collections.Counter
    fingerprint: str
    seconds: float

    @property
    def total(self) -> int:
        return len(self.offsets)

    def shard_samples(self, shard: Shard) -> Tuple[np.ndarray, np.ndarray]:
        """(input index, offset) arrays of one shard's samples, in shard order."""
        indices = self.order[shard.begin:shard.end]
        inputs = np.searchsorted(self.input_starts, indices, side="right") - 1
        return inputs.astype(np.int32), self.offsets[indices]


def open_readers(args, staging: str) -> List[LineReader]:
    """One reader per input, its format detected for `--format auto` (and said on stderr)."""
    options = ReaderOptions(image_root=args.image_root, header=args.header, delimiter=args.delimiter,
                            lexicon=args.lexicon, label_regex=args.label_regex)
    readers = []
    for index, path in enumerate(args.annotations):
        name = resolve_format(args.format, path)
        listing = os.path.join(staging, _LISTINGS, f"input-{index:04d}.list")
        readers.append(make_reader(name, path, options, listing))
        detected = " (detected; --format overrides)" if args.format == "auto" else ""
        print(f"{path}: {name}{detected}", file=sys.stderr)
    return readers


def read_annotations(readers, alphabet, lowercase: bool, stop_on_bad: bool, digest):
    """Reads every input once: (input starts, offsets of usable samples, problems, characters outside the alphabet)."""
    offsets = array.array("q")
    starts = [0]
    problems, outside = Problems(), collections.Counter()
    status = _Status("reading annotations")
    for index, reader in enumerate(readers):
        digest.update(json.dumps(reader.settings(), sort_keys=True).encode() + b"\0")
        for sample in reader.samples(digest):
            error, kind = sample.error, sample.kind
            if error is None and alphabet is not None:
                unknown = alphabet.unknown_units(sample.label.lower() if lowercase else sample.label)
                if unknown:
                    outside.update(unknown)
                    error = (f"label {sample.label!r} has characters outside the alphabet: "
                             f"{''.join(sorted(set(unknown)))!r}")
                    kind = "outside the alphabet"
            if error is None:
                offsets.append(sample.offset)
            elif stop_on_bad:
                status.end()
                raise DataError(f"{sample.where}: {error}")
            else:
                problems.add(index, sample.offset, kind, error, sample.where)
            status.tick(len(offsets) + problems.total)
        starts.append(len(offsets))
    status.end()
    return np.array(starts, dtype=np.int64), np.frombuffer(offsets, dtype=np.int64), problems, outside


def split_and_shard(total: int, args) -> Tuple[np.ndarray, List[Shard]]:
    """The seeded shuffle (val first, then train) and the shards cut from it, all named."""
    order = np.arange(total, dtype=np.int32 if total < 2 ** 31 else np.int64)
    np.random.default_rng(args.seed).shuffle(order)
    val_count = int(round(total * args.val_ratio))
    splits = [("val", 0, val_count), ("train", val_count, total)] if val_count else [("train", 0, total)]
    shards = []
    for split, begin, end in splits:
        prefix = f"{args.prefix}-{split}" if val_count else args.prefix
        count = max(1, -(-(end - begin) // args.examples_per_shard))
        for index in range(count):
            first = begin + index * args.examples_per_shard
            shards.append(Shard(split, shard_name(prefix, index, count), first,
                                min(end, first + args.examples_per_shard)))
    return order, shards


def make_plan(readers, args, alphabet) -> Plan:
    start = time.time()
    digest = hashlib.sha256(_PLAN_VERSION)
    starts, offsets, problems, outside = read_annotations(readers, alphabet, args.lowercase,
                                                         args.on_bad_input == "stop", digest)
    if not len(offsets):
        first = problems.listed()[:1]
        raise DataError("no usable sample in " + ", ".join(args.annotations) +
                        (f" (first problem: {first[0][2]}: {first[0][3]})" if first else ""))
    order, shards = split_and_shard(len(offsets), args)
    for array_ in (starts, offsets):
        digest.update(array_.tobytes())
    digest.update(json.dumps([args.seed, args.val_ratio, args.examples_per_shard, args.prefix]).encode())
    plan = Plan(readers, starts, offsets, order, shards, problems, outside, digest.hexdigest(), time.time() - start)
    print(f"planned {plan.total} samples in {len(shards)} shards ({problems.total} unusable records) "
          f"in {plan.seconds:.1f}s", file=sys.stderr)
    return plan


# -- the staging folder --------------------------------------------------------------------

def _prepare_staging(staging: str, fingerprint: str) -> None:
    """Keeps the shards of an interrupted run of the same plan; removes those of any other."""
    marker = os.path.join(staging, _FINGERPRINT)
    previous = ""
    if os.path.isfile(marker):
        with open(marker, encoding="utf-8") as handle:
            previous = handle.read().strip()
    for name in os.listdir(staging):
        path = os.path.join(staging, name)
        if os.path.isfile(path) and (previous != fingerprint or ".tmp" in name):
            os.remove(path)
    with open(marker + ".tmp", "w", encoding="utf-8") as handle:
        handle.write(fingerprint)
    os.replace(marker + ".tmp", marker)


def _finished_stats(staging: str, name: str) -> Optional[dict]:
    """The statistics of a shard finished by an earlier run, or None."""
    path = os.path.join(staging, name)
    if not (os.path.isfile(path) and os.path.isfile(path + ".stats")):
        return None
    with open(path + ".stats", encoding="utf-8") as handle:
        return json.load(handle)


def _remove_stale_shards(output_dir: str, prefix: str, keep: set) -> None:
    """Shards of an earlier run with this prefix (another shard count or split) would be read
    with the new ones by any glob of the set, so they go."""
    for family in (prefix, f"{prefix}-train", f"{prefix}-val"):
        for path in glob.glob(shard_pattern(glob.escape(output_dir), glob.escape(family))):
            if os.path.basename(path) not in keep:
                os.remove(path)


# -- workers -----------------------------------------------------------------------------

@dataclass
class ShardTask:
    name: str
    staging_path: str
    inputs: np.ndarray  # int32: index into the readers
    offsets: np.ndarray  # int64: byte offset of the record in that reader's file
    stop_on_bad: bool
    input_size: InputSize  # to count the labels too long for their image
    units: Optional[tuple] = None  # the alphabet's units, to split labels as training will


_worker_readers: Optional[List[LineReader]] = None
_worker_stop = None  # a multiprocessing Event: set, the remaining tasks return at once


def _start_worker(readers, parent_pid: Optional[int], stop=None) -> None:
    """Pool initializer: keeps the readers, and dies with the parent."""
    global _worker_readers, _worker_stop
    _worker_stop = stop
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _exit_with_parent(parent_pid)
    _worker_readers = readers


def _exit_with_parent(parent_pid: Optional[int]) -> None:
    """Asks Linux to kill this worker when its parent dies (kill -9 included), so no orphan
    keeps writing into the staging folder while the same command runs again."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(1)  # the parent died before prctl took effect


def write_shard_task(task: ShardTask) -> Tuple[str, Optional[dict]]:
    """Worker: re-reads, checks and writes one shard; returns its name and statistics
    (None when the run is stopping and the shard was left for a later run)."""
    if _worker_stop is not None and _worker_stop.is_set():
        return task.name, None
    from tf_crnn.data.schema import make_example
    from tf_crnn.data.writer import write_shard

    problems = Problems()
    lengths, characters = collections.Counter(), collections.Counter()
    too_long = {"count": 0, "examples": []}
    split_units = Alphabet(list(task.units)).tokenize if task.units else list
    handles = {}

    def records():
        for source, offset in zip(task.inputs.tolist(), task.offsets.tolist()):
            reader = _worker_readers[source]
            if source not in handles:
                handles[source] = open_records(reader.records_path)
            sample = reader.sample_at(handles[source], offset)
            if sample.error is not None:
                raise DataError(f"{reader.path} changed during the conversion ({sample.error} at byte {offset}); "
                                "run the command again")
            try:
                data = images.read_checked_image(sample.image_path)
            except images.BadImage as bad:
                if task.stop_on_bad:
                    raise DataError(f"{reader.where_at([offset])[offset]}: {sample.image_path}: {bad}") from None
                problems.add(source, offset, bad.kind, f"{sample.image_path}: {bad}")
                continue
            lengths[len(sample.label)] += 1
            characters.update(sample.label)
            _count_if_too_long(too_long, data, sample, split_units, task.input_size)
            yield make_example(data, sample.label, sample.image_path)

    try:
        written = write_shard(task.staging_path, records())
    except OSError as err:
        raise DataError(f"cannot write {task.staging_path}: {getattr(err, 'strerror', None) or err}") from None
    finally:
        for handle in handles.values():
            handle.close()
    stats = {"written": written, "problems": problems.to_json(),
             "label_lengths": dict(lengths), "characters": dict(characters), "too_long": too_long}
    os.replace(_write_json_draft(task.staging_path + ".stats", stats, indent=None), task.staging_path + ".stats")
    return task.name, stats


def _write_json_draft(path: str, data: dict, indent=2) -> str:
    """Writes `data` to `path`.tmp and returns that name, for the caller to move into place;
    on a full disk (or any write error) the draft is removed and DataError says so."""
    draft = path + ".tmp"
    try:
        with open(draft, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=indent, ensure_ascii=False)
    except OSError as err:
        with contextlib.suppress(OSError):
            os.remove(draft)
        raise DataError(f"cannot write {path}: {err.strerror or err}; nothing was published: free some space and "
                        "run the same command again (the shards written so far are kept and reused)") from None
    return draft


def _count_if_too_long(too_long: dict, data: bytes, sample, split_units, size: InputSize) -> None:
    """Counts (and lists the first few of) labels CTC cannot spell in their image's frames."""
    with Image.open(io.BytesIO(data)) as image:
        width, height = image.size
    frames, needed = size.frames(width, height), frames_needed(split_units(sample.label))
    if needed > frames:
        too_long["count"] += 1
        if len(too_long["examples"]) < _MAX_TOO_LONG_LISTED:
            too_long["examples"].append({"image": sample.image_path, "label": sample.label, "frames": frames,
                                         "frames_needed": needed})


def _pool_context():
    """(context, parent pid for the workers' check): fork unless TensorFlow is loaded here."""
    if "tensorflow" not in sys.modules:
        return multiprocessing.get_context("fork"), os.getpid()
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["tf_crnn.data.writer"])
    return context, None


# -- progress and report -----------------------------------------------------------------

class _Status:
    """A counter on a terminal's stderr while something long runs (reading 9 million
    annotation lines takes a while), refreshed at most twice a second."""

    def __init__(self, what: str):
        self.what, self.last, self.shown = what, time.time(), False
        self.enabled = sys.stderr.isatty()

    def tick(self, count: int) -> None:
        if self.enabled and count % 4096 == 0 and time.time() - self.last > 0.5:
            self.last, self.shown = time.time(), True
            sys.stderr.write(f"\r{self.what}: {count} records")
            sys.stderr.flush()

    def end(self) -> None:
        if self.shown:
            sys.stderr.write("\n")
            self.shown = False


class Progress:
    """The writing's progress bar on stderr (tqdm: images, images/s, time left), and its rate
    for the report."""

    def __init__(self, total: int, done: int = 0):
        from tqdm import tqdm

        self.done, self.start, self.start_done = done, time.time(), done
        self.bar = tqdm(total=total, initial=done, unit="image", unit_scale=True, file=sys.stderr, mininterval=0.5,
                        dynamic_ncols=True, desc="writing shards")

    def advance(self, count: int) -> None:
        self.done += count
        self.bar.update(count)
        if self.done >= self.bar.total:
            self.bar.close()

    def close(self) -> None:
        self.bar.close()

    @property
    def rate(self) -> float:
        return (self.done - self.start_done) / max(time.time() - self.start, 1e-6)


class Totals:
    """What the written shards hold, summed over their statistics."""

    def __init__(self, problems: Problems):
        self.written = collections.Counter()
        self.lengths = collections.Counter()
        self.characters = collections.Counter()
        self.too_long = {"count": 0, "examples": []}
        self.problems = problems

    def add(self, split: str, stats: dict) -> None:
        self.written[split] += stats["written"]
        self.lengths.update({int(k): v for k, v in stats["label_lengths"].items()})
        self.characters.update(stats["characters"])
        self.problems.merge(stats["problems"])
        too_long = stats.get("too_long", {"count": 0, "examples": []})  # shards of older runs lack it
        self.too_long["count"] += too_long["count"]
        room = _MAX_TOO_LONG_LISTED - len(self.too_long["examples"])
        self.too_long["examples"] += too_long["examples"][:max(room, 0)]


def build_report(plan: Plan, totals: Totals, alphabet, lowercase: bool, elapsed: float, rate: float,
                 input_size: InputSize = InputSize()) -> dict:
    totals.problems.locate(plan.readers)
    problems = totals.problems
    report = {
        "inputs": {reader.path: reader.format_name for reader in plan.readers},
        "planned": plan.total,
        "written": dict(totals.written),
        "written_total": sum(totals.written.values()),
        "skipped_total": problems.total,
        "skipped_by_reason": dict(problems.counts.most_common()),
        "skipped": [{"where": where, "reason": reason} for _, _, where, reason in problems.listed()],
        "label_length_histogram": {str(k): totals.lengths[k] for k in sorted(totals.lengths)},
        "characters_seen": "".join(sorted(totals.characters)),
        # Written, but a model of this input size cannot learn them (training skips them).
        "labels_too_long_for_their_image": dict(totals.too_long, image_height=input_size.image_height,
                                                min_image_width=input_size.min_image_width,
                                                max_image_width=input_size.max_image_width),
        "shards": [shard.name for shard in plan.shards],
        "planning_seconds": round(plan.seconds, 2),
        "seconds": round(elapsed, 2),
        "images_per_second": round(rate, 1),
    }
    if alphabet is not None:
        seen = "".join(totals.characters)
        seen = set(seen.lower() if lowercase else seen)
        report["alphabet_units_unused"] = [u for u in alphabet.units if not set(u) <= seen]
        report["characters_outside_alphabet"] = dict(plan.outside_alphabet.most_common())
    return report


def print_report(report: dict, report_path: str) -> None:
    print(f"written: {report['written_total']} examples ({', '.join(f'{k} {v}' for k, v in report['written'].items())})")
    print(f"skipped: {report['skipped_total']}" +
          (" (" + ", ".join(f"{k}: {v}" for k, v in report["skipped_by_reason"].items()) + ")" if report["skipped_total"] else ""))
    for item in report["skipped"][:10]:
        print(f"  {item['where']}: {item['reason']}")
    if report["skipped_total"] > 10:
        print(f"  ... ({min(report['skipped_total'], _MAX_LISTED)} listed in the report)")
    print("label lengths: " + " ".join(f"{k}:{v}" for k, v in report["label_length_histogram"].items()))
    print(f"characters seen: {report['characters_seen']!r}")
    too_long = report["labels_too_long_for_their_image"]
    if too_long["count"]:
        print(f"labels too long for their image: {too_long['count']} (written, but training skips them: CTC "
              f"needs a frame per unit, one more between repeats, and a {too_long['image_height']} px high image "
              f"gives a frame per {FRAME_WIDTH} px of width up to {too_long['max_image_width']}; examples in the "
              "report)")
    if report.get("characters_outside_alphabet"):
        print(f"characters outside the alphabet (labels skipped): {''.join(report['characters_outside_alphabet'])!r}")
    if report.get("alphabet_units_unused"):
        print(f"alphabet units never seen: {''.join(report['alphabet_units_unused'])!r}")
    print(f"{report['images_per_second']} images/s; report written to {report_path}")


# -- the run -------------------------------------------------------------------------------

def _write_shards(pool, plan: Plan, staging: str, totals: Totals, stop_on_bad: bool, input_size: InputSize,
                  units: Optional[tuple]) -> Progress:
    """Writes the shards not finished by an earlier run; returns the progress (for its rate)."""
    tasks, done = [], 0
    split_of = {shard.name: shard.split for shard in plan.shards}
    for shard in plan.shards:
        stats = _finished_stats(staging, shard.name)
        if stats is not None:
            totals.add(shard.split, stats)
            done += shard.end - shard.begin
        else:
            tasks.append(shard)
    if done:
        print(f"resuming: {len(plan.shards) - len(tasks)} of {len(plan.shards)} shards already written",
              file=sys.stderr)

    def task_of(shard: Shard) -> ShardTask:
        inputs, offsets = plan.shard_samples(shard)
        return ShardTask(shard.name, os.path.join(staging, shard.name), inputs, offsets, stop_on_bad, input_size,
                         units)

    progress = Progress(plan.total, done)
    try:
        for name, stats in pool.imap_unordered(write_shard_task, map(task_of, tasks)):
            if stats is None:
                continue
            totals.add(split_of[name], stats)
            progress.advance(stats["written"] + sum(stats["problems"]["counts"].values()))
    finally:
        progress.close()  # the error message, if any, then starts on a line of its own
    return progress


def _finish(plan: Plan, output_dir: str, prefix: str, staging: str) -> None:
    """Moves the complete set out of staging, in place of any earlier set of this prefix."""
    names = {shard.name for shard in plan.shards}
    _remove_stale_shards(output_dir, prefix, keep=names)
    for shard in plan.shards:
        os.replace(os.path.join(staging, shard.name), os.path.join(output_dir, shard.name))


def convert(args) -> dict:
    """Runs a whole conversion, holding the lock of its prefix; returns the report."""
    alphabet = Alphabet.from_file(args.alphabet_file) if args.alphabet_file else None
    made = [path for path in (args.output_dir,) if not os.path.isdir(path)]
    try:
        os.makedirs(args.output_dir, exist_ok=True)
    except OSError as err:
        raise DataError(f"--output_dir {args.output_dir}: cannot be made ({err.strerror})") from None
    with exclusive_prefix(args.output_dir, args.prefix):
        return _convert(args, alphabet, made)


def _convert(args, alphabet, made: List[str]) -> dict:
    staging = os.path.join(args.output_dir, _STAGING.format(prefix=args.prefix))
    if not os.path.isdir(staging):
        made.append(staging)
    try:
        os.makedirs(os.path.join(staging, _LISTINGS), exist_ok=True)
    except OSError as err:
        raise DataError(f"--output_dir {args.output_dir}: cannot be made ({err.strerror})") from None
    plan = None
    try:
        readers = open_readers(args, staging)
        context, parent_pid = _pool_context()
        stop = context.Event()
        with context.Pool(args.workers, initializer=_start_worker, initargs=(readers, parent_pid, stop)) as pool:
            try:
                plan = make_plan(readers, args, alphabet)
                _prepare_staging(staging, plan.fingerprint)
                totals = Totals(plan.problems)
                start = time.time()
                input_size = InputSize(args.image_height, args.min_image_width, args.max_image_width)
                units = tuple(alphabet.units) if alphabet else None
                progress = _write_shards(pool, plan, staging, totals, args.on_bad_input == "stop", input_size, units)
            except BaseException:
                # Pool.terminate() can hang when it finds a worker idle (it waits on a queue
                # lock that worker holds); let the workers drain their queue and exit.
                stop.set()
                pool.close()
                pool.join()
                raise
    except (UserError, KeyboardInterrupt) as err:
        if plan is None:  # stopped while planning: nothing was written, leave no trace
            for path in reversed(made):
                shutil.rmtree(path, ignore_errors=True)
        if isinstance(err, KeyboardInterrupt):
            raise UserError("interrupted" + (f"; finished shards are kept in {staging}: run the same command "
                                             "again to resume" if plan is not None else "")) from None
        raise
    report = build_report(plan, totals, alphabet, args.lowercase, time.time() - start, progress.rate, input_size)
    report_path = os.path.join(args.output_dir, f"{args.prefix}-report.json")
    empty = [split for split in sorted({shard.split for shard in plan.shards}) if not totals.written[split]]
    # The report is written before the shards are published: a disk that fills up here
    # leaves the earlier set and its report as they were, and the new shards in staging.
    draft = _write_json_draft(report_path, report)
    if not empty:
        _finish(plan, args.output_dir, args.prefix, staging)
    os.replace(draft, report_path)
    shutil.rmtree(staging)
    print_report(report, report_path)
    if empty:
        # Empty shards would train on nothing; an earlier set of this prefix stays as it was.
        planned = collections.Counter()
        for shard in plan.shards:
            planned[shard.split] += shard.end - shard.begin
        counts = ", ".join(f"0 of {planned[split]} {split} examples" for split in empty)
        first = report["skipped"][:1]
        raise DataError(f"{counts} written: no shard written" +
                        (f" (first problem: {first[0]['where']}: {first[0]['reason']})" if first else "") +
                        f"; the report is in {report_path}")
    return report


if __name__ == "__main__":
    from tf_crnn.cli.convert import main

    main()
