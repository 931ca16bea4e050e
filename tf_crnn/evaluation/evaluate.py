"""Readers scored on labelled sets with every decoder asked for (the library of
`python -m tf_crnn.evaluate`), whatever their runtime.

Every reader (tf_crnn/inference/reader.py) reads each set with each decoder it has of those
asked for (a model that decodes in its own graph, the bytes-in TFLite model, with that one);
tf_crnn/evaluation/scoring.py scores the words.
"""

import sys
import time
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

from tf_crnn.errors import DataError
from tf_crnn.evaluation.samples import load_samples, read_samples
from tf_crnn.evaluation.scoring import SetResult, score, set_name
from tf_crnn.inference.reader import Reader


@dataclass
class WordSources:
    """What the lexicon and lm decoders read with. The lexicon is the words of
    `lexicon_files` plus, with `lexicon_labels`, the labels of the set being scored; the
    language model is fitted on `language_model` (`english` or a text file) and never sees
    the labels."""

    lexicon_files: Sequence[str] = ()
    lexicon_labels: bool = False
    lexicon_distance: int = 3
    language_model: Optional[str] = None

    def check(self, decoders: Sequence[str]) -> None:
        if "lexicon" in decoders and not (self.lexicon_files or self.lexicon_labels):
            raise DataError("the lexicon decoder needs --lexicon FILE (or 'english') and/or --lexicon_labels")
        if "lm" in decoders and not self.language_model:
            raise DataError("the lm decoder needs --language_model FILE (or 'english')")


def predict_set(reader: Reader, samples, decoder: str, batch_size: int, lexicon=None, lm_decoder=None):
    """Words for every sample (None where the image does not decode) and the seconds taken."""
    start = time.perf_counter()
    rows = read_samples(lambda batch: reader.read(batch, decoder, lexicon, lm_decoder), samples, batch_size,
                        reader.bad_image_errors())
    seconds = time.perf_counter() - start
    predictions = [text for text, _ in rows]
    first_error = next((str(err).splitlines()[0] for _, err in rows if err is not None), None)
    if predictions and all(p is None for p in predictions):
        # More likely the model than every image: say so instead of a quiet 0%.
        print(f"warning: {reader.label} read none of the images ({first_error})", file=sys.stderr)
    return predictions, seconds


def warm_up(reader: Reader, samples) -> None:
    """One image read, so words/s measures steady state."""
    try:
        reader.read([next(image for _, image, _ in samples if image is not None)], reader.decoders[0])
    except (reader.bad_image_errors() + (StopIteration,)):
        pass


def evaluate(readers: List[Reader], annotation_files: List[str], decoders: Sequence[str] = ("greedy", "beam"),
             batch_size: int = 64, sources: WordSources = WordSources()) -> List[Tuple[Reader, SetResult]]:
    """(reader, SetResult) for every set, reader and decoder."""
    from tf_crnn.decoding.char_lm import load_language_model
    from tf_crnn.decoding.lexicon import Lexicon, LexiconDecoder, read_word_list
    from tf_crnn.decoding.lm_beam import LanguageModelDecoder

    sources.check(decoders)
    shared_words = [word for path in sources.lexicon_files for word in read_word_list(path)]
    lm_decoders = {}  # by reader: the language model is fitted on each one's alphabet
    results = []
    for path in annotation_files:
        samples = load_samples(path)
        for reader in readers:
            chosen = [d for d in decoders if d in reader.decoders] or list(reader.decoders[:1])
            lexicon = None
            if "lexicon" in chosen:
                labels = [label for _, _, label in samples] if sources.lexicon_labels else []
                lexicon = LexiconDecoder(Lexicon(shared_words + labels, reader.alphabet), sources.lexicon_distance)
            if "lm" in chosen and reader not in lm_decoders:
                lm_decoders[reader] = LanguageModelDecoder(load_language_model(sources.language_model,
                                                                               reader.alphabet))
            warm_up(reader, samples)
            for decoder in chosen:
                predictions, seconds = predict_set(reader, samples, decoder, batch_size, lexicon,
                                                   lm_decoders.get(reader))
                results.append((reader, score(set_name(path), decoder, samples, predictions, seconds)))
    return results
