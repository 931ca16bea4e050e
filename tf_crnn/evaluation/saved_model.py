"""A SavedModel export scored on labelled sets with every decoder asked for (the library of
`python -m tf_crnn.evaluate`)."""

import time
from typing import List

from tf_crnn.errors import DataError
from tf_crnn.evaluation.samples import load_samples, read_samples
from tf_crnn.evaluation.scoring import SetResult, score, set_name
from tf_crnn.inference.saved_model import LogitsModel


def predict_set(model: LogitsModel, samples, decoder: str, beam_width: int, batch_size: int, lexicon=None,
                lm_decoder=None):
    """Predictions for every sample (None where the image does not decode) and the seconds taken."""

    def read(images):
        return model.decode(*model.logits(images), decoder, beam_width, lexicon, lm_decoder)

    start = time.perf_counter()
    rows = read_samples(read, samples, batch_size, (model._tf.errors.InvalidArgumentError,))
    return [text for text, _ in rows], time.perf_counter() - start


def evaluate(saved_model: str, annotation_files: List[str], decoders=("greedy", "beam"), beam_width: int = None,
             batch_size: int = 64, lexicon_files=(), lexicon_labels: bool = False,
             lexicon_distance: int = 3, language_model: str = None) -> List[SetResult]:
    """Scores the export on every annotation file with every decoder.

    The lexicon decoder's lexicon is the words of `lexicon_files` plus, with
    `lexicon_labels`, the labels of the set being scored. The lm decoder's language model
    is fitted on `language_model` (`english` or a text file); it never sees the labels.
    """
    from tf_crnn.decoding.char_lm import load_language_model
    from tf_crnn.decoding.lexicon import Lexicon, LexiconDecoder, read_word_list
    from tf_crnn.decoding.lm_beam import LanguageModelDecoder

    if "lexicon" in decoders and not (lexicon_files or lexicon_labels):
        raise DataError("the lexicon decoder needs --lexicon FILE (or 'english') and/or --lexicon_labels")
    if "lm" in decoders and not language_model:
        raise DataError("the lm decoder needs --language_model FILE (or 'english')")
    model = LogitsModel(saved_model)
    lm_decoder = LanguageModelDecoder(load_language_model(language_model, model.alphabet)) if "lm" in decoders else None
    beam_width = beam_width or model.metadata.get("beam_width", 10)
    shared_words = [word for path in lexicon_files for word in read_word_list(path)]
    results = []
    for path in annotation_files:
        samples = load_samples(path)
        lexicon = None
        if "lexicon" in decoders:
            labels = [label for _, _, label in samples] if lexicon_labels else []
            lexicon = LexiconDecoder(Lexicon(shared_words + labels, model.alphabet), lexicon_distance)
        readable = [image for _, image, _ in samples if image is not None]
        if readable:
            model.logits(readable[:1])  # warm-up, so words/s measures steady state
        for decoder in decoders:
            predictions, seconds = predict_set(model, samples, decoder, beam_width, batch_size, lexicon, lm_decoder)
            results.append(score(set_name(path), decoder, samples, predictions, seconds))
    return results
