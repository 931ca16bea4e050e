"""Generates a synthetic word data set as TFRecord shards: the library under
`tf-crnn generate` and `python -m tf_crnn.synth.generate` (its command line: tf_crnn/cli/generate.py).

    tf-crnn generate --output_dir data/synth --count 100000 --val_count 2000

writes `synth-train-*-of-*.tfrecord` and `synth-val-*-of-*.tfrecord` in the project's
schema. Each shard is rendered by a worker process from its own seed, made of
(seed, split, shard index), so the data set is the same whatever the number of workers,
and a shard whose file already exists is kept, so an interrupted run resumes where it
stopped (with the same arguments). `--images_dir` also writes the validation images as
files with a `labels.tsv`, to look at them or to feed them to tools that read files.

Any script: `--words FILE` (one word or phrase a line, UTF-8) replaces the English words,
and the charset defaults to the list's characters; `--fonts DIR_OR_FILE...` replaces the
system fonts. Every font is checked for the glyphs of the charset first: fonts that lack
some are skipped, words needing a character no font has are left out, and both are
listed in `PREFIX-report.json` beside the shards.

Nothing here loads TensorFlow: the shards are written by tf_crnn/data/tfrecord.py, and
the worker processes, which import this module too, only render.
"""

import functools
import io
import json
import math
import multiprocessing
import os
import sys
import time
from dataclasses import dataclass
from typing import Iterator, List, Optional, Sequence, Tuple

import numpy as np

from tf_crnn.alphabet import Alphabet
from tf_crnn.errors import ConfigError
from tf_crnn.synth.fonts import covers, survey_fonts
from tf_crnn.synth.render import render_word
from tf_crnn.synth.words import WordSampler, read_word_list

DEFAULT_CHARSET = "0123456789abcdefghijklmnopqrstuvwxyz"
FORMATS = ("jpeg", "png")
# Each split has its own seed stream, so the validation set never repeats training images.
SPLIT_STREAMS = {"train": 0, "val": 1}
JPEG_QUALITY = 92
_LISTED_WORDS = 20  # examples of left-out words in the report

Sample = Tuple[bytes, str, str]  # encoded image, label, source path


@dataclass(frozen=True)
class SampleSettings:
    """What every shard of a run shares: the text and the look of the samples."""

    charset: str
    case: str
    min_length: int
    max_length: int
    image_format: str
    color: bool
    fonts: Tuple[str, ...]
    words_file: Optional[str] = None  # the user's word list; None: the English words
    midground: float = 0.0  # share of words with stray letters behind them


@dataclass(frozen=True)
class ShardJob:
    """One shard to render: which samples it holds and where it goes."""

    path: str
    split: str
    shard_index: int
    first_index: int
    count: int
    seed: int
    settings: SampleSettings


def generate(
    output_dir: str,
    prefix: str = "synth",
    count: int = 100000,
    val_count: int = 2000,
    seed: int = 0,
    charset: Optional[str] = None,
    case: Optional[str] = None,
    min_length: int = 1,
    max_length: int = 20,
    examples_per_shard: int = 1000,
    workers: Optional[int] = None,
    image_format: str = "jpeg",
    color: bool = False,
    images_dir: Optional[str] = None,
    words_file: Optional[str] = None,
    fonts: Optional[Sequence[str]] = None,
    midground: float = 0.0,
    log=sys.stderr,
) -> dict:
    """Renders `count` training and `val_count` validation samples into shards under
    `output_dir`, printing progress to `log`, and returns the shard paths and counts.

    `words_file` replaces the English words with a word list (the charset is then its
    characters unless given; the case defaults to 'as_written'), `fonts` the system font
    folders with font files or folders; `midground` is the share of words drawn with
    stray letters behind them (tf_crnn/synth/render.py). Raises `UserError` for bad
    arguments, before anything is rendered. With more than one worker, a script that calls
    this must guard its entry point with `if __name__ == "__main__":`, since the worker
    processes import the main module.
    """
    workers = workers or os.cpu_count() or 1
    _check_arguments(prefix, count, val_count, seed, examples_per_shard, workers, image_format, midground)
    case = case or ("as_written" if words_file else "lower")
    entries = read_word_list(words_file) if words_file else None
    charset_from_words = charset is None and entries is not None
    if charset is None:
        charset = "".join(sorted(set("".join(entries)))) if entries else DEFAULT_CHARSET
    survey = survey_fonts(charset, fonts)
    drawable = "".join(char for char in charset if char not in survey.undrawable)
    if not drawable.strip():
        raise ConfigError(f"no font has a glyph for any character of the charset {charset!r}")
    words_report = kept = None
    if entries is not None:
        kept, words_report = _choose_words(entries, drawable, charset, min_length, max_length, case)
        if not kept:
            raise ConfigError(f"{words_file}: no entry is left to render ({_left_out_text(words_report)})")
        if charset_from_words:  # the characters of the entries rendered, not of those left out
            drawable = "".join(sorted(set("".join(kept))))
    # A sampler checks the text settings here, so that bad ones fail before any work.
    WordSampler(drawable, np.random.default_rng(seed), min_length, max_length, case,
                words=kept if entries is not None else None)
    settings = SampleSettings(drawable, case, min_length, max_length, image_format, color, survey.usable,
                              words_file, midground)
    os.makedirs(output_dir, exist_ok=True)
    report = _write_report(output_dir, prefix, charset, survey, words_report)
    _print_survey(report, log)
    jobs = _plan("train", count, output_dir, prefix, examples_per_shard, seed, settings)
    jobs += _plan("val", val_count, output_dir, prefix, examples_per_shard, seed, settings)
    pending = [job for job in jobs if not os.path.exists(job.path)]
    rendered, seconds = _render_and_write(pending, workers, log)
    val_paths = [job.path for job in jobs if job.split == "val"]
    if images_dir:
        _export_images(val_paths, images_dir)
    return {
        "output_dir": output_dir,
        "train_shards": [job.path for job in jobs if job.split == "train"],
        "val_shards": val_paths,
        "train_count": count,
        "val_count": val_count,
        "rendered": rendered,
        "skipped_shards": len(jobs) - len(pending),
        "images_per_second": rendered / seconds if seconds else 0.0,
        "report": report,
    }


def _choose_words(entries, drawable, charset, min_length, max_length, case) -> Tuple[List[str], dict]:
    """The entries that can be rendered, and a count (with examples) of the others by reason.

    Unless the case is 'as_written', a letter whose other case is in the charset is
    fine: the label takes that case."""

    def fits(char, allowed):
        return char == " " or char in allowed or (case != "as_written" and char.swapcase() in allowed)

    kept, left_out = [], {}
    for entry in entries:
        if not all(fits(char, charset) for char in entry):
            reason = "characters outside the charset"
        elif not all(fits(char, drawable) for char in entry):
            reason = "characters no font has"
        elif not min_length <= len(entry) <= max_length:
            reason = f"length outside {min_length}-{max_length} units"
        elif " " in entry and " " not in charset:
            reason = "spaces, but the charset has no space"
        else:
            kept.append(entry)
            continue
        bucket = left_out.setdefault(reason, {"count": 0, "examples": []})
        bucket["count"] += 1
        if len(bucket["examples"]) < _LISTED_WORDS:
            bucket["examples"].append(entry)
    return kept, {"entries": len(entries), "kept": len(kept), "left_out": left_out}


def _left_out_text(words_report: dict) -> str:
    return ", ".join(f"{item['count']} with {reason}" for reason, item in words_report["left_out"].items()) or "none"


@functools.lru_cache(maxsize=4)
def _usable_words(words_file: str, drawable: str, min_length: int, max_length: int, case: str) -> Tuple[str, ...]:
    """The word list's renderable entries; kept per process, since every shard needs them
    and a worker process reads the file itself rather than receive it with every job."""
    return tuple(_choose_words(read_word_list(words_file), drawable, drawable, min_length, max_length, case)[0])


def _write_report(output_dir, prefix, charset, survey, words_report) -> dict:
    """`PREFIX-report.json`: the fonts used and skipped (with why), the characters no font
    has, and what became of the word list's entries. Written whole or not at all."""
    report = {
        "charset": charset,
        "fonts_used": len(survey.usable),
        "fonts_skipped": [{"font": path, "why": why} for path, why in survey.skipped],
        "characters_no_font_has": survey.undrawable,
    }
    if words_report is not None:
        report["words"] = words_report
    path = os.path.join(output_dir, f"{prefix}-report.json")
    with open(path + ".tmp", "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=2, ensure_ascii=False)
    os.replace(path + ".tmp", path)
    report["path"] = path
    return report


def _print_survey(report: dict, log) -> None:
    print(f"fonts: {report['fonts_used']} used, {len(report['fonts_skipped'])} skipped "
          f"(listed in {report['path']})", file=log, flush=True)
    if report["characters_no_font_has"]:
        print("characters no font has (left out): " + ", ".join(
            f"{char!r} (U+{ord(char):04X})" for char in report["characters_no_font_has"]), file=log, flush=True)
    words = report.get("words")
    if words:
        print(f"word list: {words['kept']} of {words['entries']} entries used"
              + (f"; left out: {_left_out_text(words)}" if words["left_out"] else ""), file=log, flush=True)


def _check_arguments(prefix, count, val_count, seed, examples_per_shard, workers, image_format, midground):
    if not prefix or os.sep in prefix:
        raise ConfigError(f"prefix must be a non-empty file name prefix, got {prefix!r}")
    if count < 0 or val_count < 0 or count + val_count == 0:
        raise ConfigError(f"count and val_count must be >= 0 and not both 0, got {count} and {val_count}")
    if seed < 0:
        raise ConfigError(f"seed must be >= 0, got {seed}")
    if examples_per_shard < 1:
        raise ConfigError(f"examples_per_shard must be >= 1, got {examples_per_shard}")
    if workers < 1:
        raise ConfigError(f"workers must be >= 1, got {workers}")
    if image_format not in FORMATS:
        raise ConfigError(f"format must be one of {', '.join(FORMATS)}, got {image_format!r}")
    if not 0.0 <= midground <= 1.0:
        raise ConfigError(f"midground is a share of the words, from 0 to 1, got {midground}")


def _plan(split, count, output_dir, prefix, per_shard, seed, settings) -> List[ShardJob]:
    """The shards of one split; sample i of the split always lands in the same shard."""
    from tf_crnn.data.writer import shard_paths

    if count == 0:
        return []
    paths = shard_paths(output_dir, f"{prefix}-{split}", math.ceil(count / per_shard))
    return [
        ShardJob(path, split, i, i * per_shard, min(per_shard, count - i * per_shard), seed, settings)
        for i, path in enumerate(paths)
    ]


def render_shard(job: ShardJob) -> Tuple[ShardJob, List[Sample]]:
    """Renders the samples of one shard (in a worker process); the seed depends only on
    the run seed, the split and the shard index."""
    settings = job.settings
    rng = np.random.default_rng([job.seed, SPLIT_STREAMS[job.split], job.shard_index])
    user_words = None
    if settings.words_file:
        user_words = _usable_words(settings.words_file, settings.charset, settings.min_length, settings.max_length,
                                   settings.case)
    words = WordSampler(settings.charset, rng, settings.min_length, settings.max_length, settings.case,
                        words=user_words)
    fonts = list(settings.fonts)
    samples = []
    for offset in range(job.count):
        label = words.sample()
        text = words.display_form(label)
        if not any(covers(path, text) for path in fonts):
            text = label  # a mark beside the word that no font has: the word alone
        image = render_word(text, rng, fonts, color=settings.color, midground=settings.midground)
        source = f"synth:{job.split}/{job.first_index + offset}"
        samples.append((encode_image(image, settings.image_format), label, source))
    return job, samples


def encode_image(image, image_format: str) -> bytes:
    """The stored bytes of a sample; JPEG at a high quality, since the renderer has already
    added whatever JPEG artefacts the sample should have."""
    buffer = io.BytesIO()
    if image_format == "jpeg":
        image.save(buffer, format="JPEG", quality=JPEG_QUALITY)
    else:
        image.save(buffer, format="PNG")
    return buffer.getvalue()


def _render_and_write(jobs: Sequence[ShardJob], workers: int, log) -> Tuple[int, float]:
    """Renders the jobs on `workers` processes and writes each shard as it arrives.

    Returns the number of samples rendered and the seconds it took.
    """
    from tf_crnn.data.schema import make_example
    from tf_crnn.data.writer import write_shard

    from tqdm import tqdm

    total = sum(job.count for job in jobs)
    start, done = time.monotonic(), 0
    with tqdm(total=total, unit="image", file=log, mininterval=0.5, dynamic_ncols=True, desc="rendering") as bar:
        for finished, (job, samples) in enumerate(_rendered_shards(jobs, workers), start=1):
            write_shard(job.path, (make_example(image, label, source) for image, label, source in samples))
            done += len(samples)
            bar.set_postfix_str(f"shard {finished}/{len(jobs)}", refresh=False)
            bar.update(len(samples))
    return done, time.monotonic() - start


def _rendered_shards(jobs: Sequence[ShardJob], workers: int) -> Iterator[Tuple[ShardJob, List[Sample]]]:
    """Rendered shards in completion order: in this process for one worker, else in a pool.

    The pool uses 'spawn', not 'fork': a process that has TensorFlow threads running (a
    notebook, the quickstart) cannot be forked safely.
    """
    workers = min(workers, len(jobs))
    if workers <= 1:
        yield from map(render_shard, jobs)
        return
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        yield from pool.imap_unordered(render_shard, jobs)


def _export_images(shard_paths: Sequence[str], images_dir: str) -> None:
    """Writes the samples of `shard_paths` as image files plus `labels.tsv`
    (`relative/path<TAB>label`, UTF-8), reading them back from the shards so that shards
    kept by a resumed run are exported too."""
    from tf_crnn.data.schema import read_examples

    lines = []
    for shard in shard_paths:
        for image, label, source in read_examples(shard):
            split, index = source.split(":", 1)[1].split("/")
            relative = f"{split}/{int(index):07d}.{_extension(image)}"
            os.makedirs(os.path.join(images_dir, split), exist_ok=True)
            with open(os.path.join(images_dir, relative), "wb") as handle:
                handle.write(image)
            lines.append(f"{relative}\t{label}\n")
    tmp_path = os.path.join(images_dir, "labels.tsv.tmp")
    with open(tmp_path, "w", encoding="utf-8") as handle:
        handle.writelines(lines)
    os.replace(tmp_path, os.path.join(images_dir, "labels.tsv"))


def _extension(image: bytes) -> str:
    return "png" if image.startswith(b"\x89PNG") else "jpg"


def summary_line(summary: dict) -> str:
    """One line that says what a `generate` call produced."""
    shards = len(summary["train_shards"]) + len(summary["val_shards"])
    return (
        f"done: {summary['train_count']} train + {summary['val_count']} val images in {shards} shards "
        f"under {summary['output_dir']} ({summary['rendered']} rendered at "
        f"{summary['images_per_second']:.0f} images/s, {summary['skipped_shards']} shards already there)"
    )


def read_charset(value: str) -> str:
    """The charset flag: a path to an alphabet file (one unit a line), or the characters.

    A value ending in `.txt` is always taken as a path, so that a mistyped file name is
    reported instead of becoming a charset of its letters.
    """
    if not os.path.isfile(value) and not value.endswith(".txt"):
        return value
    units = Alphabet.from_file(value).units
    long_units = [unit for unit in units if len(unit) != 1]
    if long_units:
        raise ConfigError(
            f"{value}: synthetic text is made of single characters, "
            f"but the alphabet has multi-character units {long_units[:5]}"
        )
    return "".join(units)


if __name__ == "__main__":
    from tf_crnn.cli.generate import main

    main()
