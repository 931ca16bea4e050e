"""CTC decoding in the graph (greedy, beam, what each word is made of, agreeing with numpy)
and the metrics of the model_fn, checked against values worked out by hand."""

import numpy as np
import tensorflow as tf

from tf_crnn.decoding import ctc
from tf_crnn import word_metrics
from tf_crnn.model import metrics
from tf_crnn.alphabet import Alphabet

ALPHABET = Alphabet(list("ab"))  # ids: a=0, b=1, blank=2


def _log_probs(frames):
    """frames: per time step, probabilities over (a, b, blank) -> time-major log-probs [T, 1, 3]."""
    return tf.math.log(tf.constant(np.array(frames, dtype=np.float32)[:, None, :]))


def test_greedy_merges_repeats_and_drops_blanks():
    frames = [[0.7, 0.2, 0.1], [0.6, 0.3, 0.1], [0.1, 0.1, 0.8], [0.6, 0.3, 0.1], [0.1, 0.8, 0.1]]
    ids, confidence = ctc.greedy(_log_probs(frames), tf.constant([5]))
    assert ALPHABET.decode(ids.numpy()[0]) == "aab"
    np.testing.assert_allclose(confidence.numpy()[0], 0.7 * 0.6 * 0.8 * 0.6 * 0.8, rtol=1e-5)


def test_greedy_respects_sequence_length():
    frames = [[0.8, 0.1, 0.1], [0.1, 0.1, 0.8], [0.1, 0.8, 0.1]]
    ids, _ = ctc.greedy(_log_probs(frames), tf.constant([2]))
    assert ALPHABET.decode(ids.numpy()[0]) == "a"


def test_beam_search_sums_paths_where_greedy_cannot():
    # Best path is blank-blank ("", p=0.36) but "a" has 0.4*0.6 + 0.6*0.4 + 0.4*0.4 = 0.64.
    frames = [[0.4, 0.0001, 0.5999], [0.4, 0.0001, 0.5999]]
    greedy_ids, _ = ctc.greedy(_log_probs(frames), tf.constant([2]))
    assert ALPHABET.decode(greedy_ids.numpy()[0]) == ""
    out = ctc.decode(_log_probs(frames), tf.constant([2]), ALPHABET, "beam", beam_width=4, top_paths=2)
    assert out["words"].numpy()[0] == b"a"
    assert [w.decode() for w in out["top_words"].numpy()[0]] == ["a", ""]
    scores = out["top_scores"].numpy()[0]
    np.testing.assert_allclose(scores, [0.64, 0.36], atol=2e-3)
    assert out["confidences"].numpy()[0] == scores[0]


def test_no_alternatives_means_no_beam_search_and_the_same_words():
    """top_paths 0: top_words/top_scores come back [batch, 0]; greedy words and confidences
    are unchanged, and the beam decoder still reads with its own search (in the graph and
    in numpy alike)."""
    from tf_crnn.decoding import numpy_ctc

    frames = [[0.4, 0.0001, 0.5999], [0.4, 0.0001, 0.5999]]
    for decoder, word in (("greedy", ""), ("beam", "a")):
        full = ctc.decode(_log_probs(frames), tf.constant([2]), ALPHABET, decoder, beam_width=4, top_paths=2)
        bare = ctc.decode(_log_probs(frames), tf.constant([2]), ALPHABET, decoder, beam_width=4, top_paths=0)
        assert bare["words"].numpy()[0].decode() == full["words"].numpy()[0].decode() == word
        assert bare["confidences"].numpy()[0] == full["confidences"].numpy()[0]
        assert bare["top_words"].shape == (1, 0) and bare["top_scores"].shape == (1, 0)
        ours = numpy_ctc.decode(np.transpose(_log_probs(frames).numpy(), [1, 0, 2]), [2], ALPHABET, decoder, 4, 0)
        assert ours["words"] == [word] and ours["top_words"] == [[]] and ours["top_scores"].shape == (1, 0)
    ops = tf.function(lambda lp: ctc.decode(lp, tf.constant([2]), ALPHABET, "greedy", 4, 0)["words"]
                      ).get_concrete_function(tf.TensorSpec([2, 1, 3])).graph.get_operations()
    assert not any(op.type == "CTCBeamSearchDecoder" for op in ops)


def test_python_metrics_by_hand():
    assert word_metrics.levenshtein("kitten", "sitting") == 3
    assert word_metrics.levenshtein("", "abc") == 3
    assert word_metrics.normalize_alnum("Hello, World-42!") == "helloworld42"


def test_eval_metric_ops_against_hand_computed_values():
    # Estimator metrics are tf.compat.v1 streaming metrics: they run in a graph session.
    with tf.Graph().as_default():
        predicted = tf.constant(["cat", "Dog", "bird", ""])
        truth = tf.constant(["cat", "dog", "bard", "ox"])
        alphabet = Alphabet(list("abcdgiortxD"))
        pred_ids = alphabet.tf_encode(predicted).to_tensor(default_value=-1)
        true_ids = alphabet.tf_encode(truth).to_tensor(default_value=-1)
        ops = metrics.eval_metric_ops(predicted, truth, pred_ids, true_ids, tf.constant([3, 3, 4, 2]))
        with tf.compat.v1.Session() as session:
            session.run([tf.compat.v1.local_variables_initializer(), tf.compat.v1.tables_initializer()])
            session.run([update for _, update in ops.values()])
            values = {name: session.run(value) for name, (value, _) in ops.items()}
    assert values["word_accuracy"] == 0.25  # only "cat"
    assert values["alnum_word_accuracy"] == 0.5  # "cat", and "Dog" as "dog"
    # edits: 0 + 1 (D/d) + 1 (i/a) + 2 (empty vs "ox") over 3 + 3 + 4 + 2 units
    np.testing.assert_allclose(values["cer"], 4 / 12, rtol=1e-6)


def _chars(outputs, row):
    """(unit, probability, x range) of one image of ctc.decode's outputs."""
    units = [u.decode() for u in outputs["chars"].numpy()[row]]
    return [(u, round(float(p), 4), tuple(x)) for u, p, x in
            zip(units, outputs["char_confidences"].numpy()[row], outputs["char_x_ranges"].numpy()[row].tolist())
            if x[0] >= 0]


def test_each_unit_has_the_probability_and_pixels_of_its_frames():
    # a a - b b - - a: "aba"; frames are 4 px of the resized image, which was half the sent width.
    a, b, blank = [0.7, 0.2, 0.1], [0.1, 0.6, 0.3], [0.1, 0.1, 0.8]
    frames = [a, [0.9, 0.05, 0.05], blank, b, [0.2, 0.7, 0.1], blank, blank, a]
    outputs = ctc.decode(_log_probs(frames), tf.constant([8]), ALPHABET, "greedy", 4, 0,
                            widths=tf.constant([30]), source_widths=tf.constant([60]))
    assert outputs["words"].numpy()[0].decode() == "aba"
    # The last frame holds pixels 28-29 only: the image is 30 wide.
    assert _chars(outputs, 0) == [("a", 0.9, (0, 16)), ("b", 0.7, (24, 40)), ("a", 0.7, (56, 60))]


def test_beam_words_get_their_most_probable_alignment():
    # Beam search reads "a" (two paths sum) where the best path reads ""; the alignment puts "a"
    # on one frame, the first of the two equal ones.
    frames = [[0.4, 0.0001, 0.5999], [0.4, 0.0001, 0.5999]]
    outputs = ctc.decode(_log_probs(frames), tf.constant([2]), ALPHABET, "beam", 4, 1,
                            widths=tf.constant([8]))
    assert outputs["words"].numpy()[0].decode() == "a"
    assert _chars(outputs, 0) == [("a", 0.4, (0, 4))]


def test_unit_details_agree_with_numpy_for_both_decoders():
    from tf_crnn.decoding import numpy_ctc

    rng = np.random.default_rng(3)
    alphabet = Alphabet(list("abcd"))
    logits = rng.normal(size=(4, 12, 5)).astype(np.float32) * 3
    logits[:, :, 0] += 1.0  # repeats of "a" make merges and skips
    lengths, widths, sources = [12, 7, 3, 1], [47, 28, 12, 4], [94, 28, 30, 9]
    log_probs = numpy_ctc.log_softmax(logits)
    for decoder in ("greedy", "beam"):
        outputs = ctc.decode(tf.transpose(tf.constant(log_probs), [1, 0, 2]), tf.constant(lengths), alphabet,
                                decoder, 8, 1, widths=tf.constant(widths), source_widths=tf.constant(sources))
        expected = numpy_ctc.decode(log_probs, lengths, alphabet, decoder, 8, 1, widths=widths,
                                       source_widths=sources)
        for row in range(4):
            assert [(c["char"], round(c["confidence"], 4), tuple(c["x_range"])) for c in expected["chars"][row]] \
                == _chars(outputs, row), (decoder, row)


def test_the_loss_leaves_out_labels_that_cannot_fit_and_stays_finite():
    """"aa" needs 3 frames (a blank between the a's): in 2 frames TensorFlow's CTC loss is
    infinite, which made a whole batch's loss infinite (issue 34's divergence check saw it)."""
    from tf_crnn.model.model_fn import ctc_loss

    logits = tf.random.stateless_normal([2, 2, 4], seed=[1, 2])  # time 2, batch 2, 3 units + blank
    ids = tf.constant([[0, 1], [0, 0]])
    with tf.GradientTape() as tape:
        tape.watch(logits)
        loss = ctc_loss(logits, tf.constant([2, 2]), ids, tf.constant([2, 2]))
    gradient = tape.gradient(loss, logits)
    alone = ctc_loss(logits[:, :1], tf.constant([2]), ids[:1], tf.constant([2]))
    assert np.isfinite(float(loss)) and abs(float(loss) - float(alone)) < 1e-5
    assert np.all(np.isfinite(gradient.numpy())) and not np.any(gradient.numpy()[:, 1])


def test_training_counts_the_examples_whose_labels_do_not_fit_their_frames():
    import io

    from tf_crnn.model.model_fn import ProgressHook, labels_too_long

    # "aab" needs 4 frames (a blank between the a's), "ab" 2, "" 0.
    ids = tf.constant([[0, 0, 1], [0, 1, -1], [-1, -1, -1]])
    count = labels_too_long(ids, tf.constant([3, 2, 0]), tf.constant([3, 2, 1]))
    assert int(count) == 1
    assert int(labels_too_long(ids, tf.constant([3, 2, 0]), tf.constant([4, 2, 1]))) == 0

    class Values:
        def __init__(self, step):
            self.results = {"images": 3, "too_long": 1, "loss": 2.5, "rate": 1e-3}

    out = io.StringIO()
    hook = ProgressHook({}, every_steps=2, total_steps=10, out=out)
    hook.begin()
    for step in range(1, 4):
        hook.before_run(None)
        hook.after_run(None, Values(step))
    hook.end(None)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("step 2/10  loss 2.500  ") and "lr 1.00e-03  ETA 0:00:" in lines[0]
    assert lines[0].endswith("2 skipped (label too long for its image)")
    assert lines[1].startswith("3 of the 9 training examples this run read were skipped")
