"""The dialogue pipeline: tokenizer rules, vocabulary, readers of every format on
real and hand-made files, the seeded re-split, padded arrays, the TFDS builder."""

import subprocess
import sys
import warnings

import numpy as np
import pytest

from conftest import SHARED_DATA
from seqvi.data import dialogue
from seqvi.data.dialogue import EOS_ID, GO_ID, PAD_ID, UNK_ID, Vocabulary, tokenize

CORNELL = SHARED_DATA / "cornell_parlai_partial"


@pytest.fixture(scope="module")
def cornell_dir():
    if not CORNELL.is_dir():
        pytest.fail(f"benchmark data not found at {CORNELL}: the tests need ../shared/data beside the checkout")
    return CORNELL


@pytest.mark.parametrize("text, tokens", [
    ("Don't you DARE... leave!", ["don't", "you", "dare", "...", "leave", "!"]),
    ("It\u2019s \u201cfine\u201d", ["it's", '"', "fine", '"']),
    ("break- up on the quad.  Again.", ["break", "-", "up", "on", "the", "quad", ".", "again", "."]),
    ("how 'bout 9:30?", ["how", "'", "bout", "9", ":", "30", "?"]),
    ("Caf\u00e9 na\u00efve", ["caf\u00e9", "na\u00efve"]),
    ("   ", []),
    # ParlAI backslash escapes and HTML entities are undone first
    ("hi , how\\'s it going ?", ["hi", ",", "how's", "it", "going", "?"]),
    ('she said \\"no\\"\\nthen\\tleft', ["she", "said", '"', "no", '"', "then", "left"]),
    ("not bad &amp; you ?", ["not", "bad", "&", "you", "?"]),
    ("&lt;b&gt; &quot;x&quot; it&#39;s", ["<", "b", ">", '"', "x", '"', "it's"]),
    ("a__PIPE__b", ["a", "|", "b"]),
    ("c:\\\\d \\x", ["c", ":", "\\", "d", "\\", "x"]),  # an escaped backslash, an unknown escape: kept
])
def test_tokenizer_rules(text, tokens):
    assert tokenize(text) == tokens


def test_unescape_is_one_pass():
    # an escaped backslash then n; HTML entities once; a lone backslash kept
    assert dialogue.unescape("\\\\n &amp;lt; \\") == "\\n &lt; \\"


ISSUE_18 = ("1 hello there !\thi , how\\'s it going ?\n"
            "2 not bad &amp; you ?\tfine .\n"
            "\t a line with no turn number\n")


def test_lenient_parlai_reader_skips_and_reports_malformed_lines(tmp_path):
    path = tmp_path / "other_corpus.txt"
    path.write_text(ISSUE_18)
    with pytest.raises(ValueError, match=r"other_corpus.txt:3: expected 'N utterance<TAB>reply'.*strict=False"):
        dialogue.read_parlai(path)  # strict is the default
    with pytest.warns(dialogue.MalformedLinesWarning, match=r"other_corpus.txt: skipped 1 malformed line of 3 "
                                                            r"non-blank \(line 3\)"):
        conversations = dialogue.read_parlai(path, strict=False)
    assert conversations == [[("hello there !", "hi , how\\'s it going ?"), ("not bad &amp; you ?", "fine .")]]
    tokens = [t for p in dialogue.pairs(conversations) for u in p for t in tokenize(u)]
    assert "how's" in tokens and "&" in tokens and not [t for t in tokens if "\\" in t or "amp" in t]
    report = dialogue.read_parlai_with_report(path, strict=False)
    assert report.conversations == conversations and report.skipped == (3,) and report.num_lines == 3
    # a malformed first line no longer hides the format; the lenient reader never warns on a clean file
    first = tmp_path / "first.txt"
    first.write_text("\t Where are they ?\n1 a\tb\n")
    with pytest.raises(ValueError, match="first.txt:1: expected"):
        dialogue.read_parlai(first)
    assert dialogue.read_parlai_with_report(first, strict=False).skipped == (1,)
    clean = tmp_path / "clean.txt"
    clean.write_text("1 a\tb\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert dialogue.read_parlai(clean, strict=False) == [[("a", "b")]]


def test_lenient_key_value_reader(tmp_path):
    path = tmp_path / "kv.txt"
    path.write_text("text:hi\tlabels:hello\nlabels:no text here\ntext:bye\tlabels:see you\tepisode_done:True\n")
    with pytest.raises(ValueError, match="kv.txt:2: expected 'text:...<TAB>labels:...'"):
        dialogue.read_parlai(path)
    report = dialogue.read_parlai_with_report(path, strict=False)
    assert report.conversations == [[("hi", "hello"), ("bye", "see you")]] and report.skipped == (2,)


def test_vocabulary_orders_by_count_and_limits_size():
    utterances = [["b", "a", "b"], ["c", "a", "b"], ["d"]]
    vocab = Vocabulary.build(utterances, max_size=6)
    assert vocab.tokens == ("<pad>", "<go>", "<eos>", "<unk>", "b", "a")  # b: 3, a: 2; c and d cut
    assert vocab.encode(["a", "c", "b"]) == [5, UNK_ID, 4]
    assert vocab.decode([GO_ID, 5, PAD_ID, 4, EOS_ID, 5]) == ["a", "b"]
    assert Vocabulary.build(utterances, max_size=100, min_count=2).tokens[4:] == ("b", "a")
    special = (vocab.pad_id, vocab.go_id, vocab.eos_id, vocab.unk_id)
    assert special == (PAD_ID, GO_ID, EOS_ID, UNK_ID) and tuple(vocab.tokens[i] for i in special) == dialogue.SPECIALS


def test_vocabulary_errors(tmp_path):
    vocab = Vocabulary.build([["x"]], max_size=10)
    with pytest.raises(ValueError, match="outside this vocabulary of 5"):
        vocab.decode([7])
    with pytest.raises(ValueError, match="exceed the 4 special"):
        Vocabulary.build([["x"]], max_size=4)
    with pytest.raises(ValueError, match="starts with"):
        Vocabulary(["x", "<pad>"])
    with pytest.raises(ValueError, match="repeated"):
        Vocabulary(dialogue.SPECIALS + ("x", "x"))
    vocab.save(tmp_path / "vocab.txt")
    assert Vocabulary.load(tmp_path / "vocab.txt").tokens == vocab.tokens


def empty_sided(path) -> int:
    """Reply lines of an fbdialog file with a blank utterance or reply, counted directly."""
    rows = [ln.partition(" ")[2].split("\t") for ln in path.read_text().splitlines() if "\t" in ln]
    return sum(not c.strip() or not r.strip() for c, r, *_ in rows)


def test_real_parlai_files(cornell_dir):
    valid = dialogue.read_parlai(cornell_dir / "valid.txt")
    test = dialogue.read_parlai(cornell_dir / "test.txt")
    # 13914 and 13725 reply lines (the data README's pair counts), less those with an empty side
    assert 0 < empty_sided(cornell_dir / "valid.txt") < 20
    assert len(dialogue.pairs(valid)) == 13914 - empty_sided(cornell_dir / "valid.txt")
    assert len(dialogue.pairs(test)) == 13725 - empty_sided(cornell_dir / "test.txt")
    # 8310 and 8309 conversations, less the few whose only turns have no reply or an empty side
    assert 8300 <= len(valid) <= 8310 and 8300 <= len(test) <= 8309
    with pytest.raises(ValueError, match=r"valid.txt:\d+: empty utterance"):
        dialogue.read_parlai(cornell_dir / "valid.txt", skip_empty=False)
    aligned = dialogue.read_aligned(cornell_dir / "valid_inputs.txt", cornell_dir / "valid_targets.txt")
    assert dialogue.pairs(aligned) == dialogue.pairs(valid)


def test_parlai_key_value_and_format_errors(tmp_path):
    path = tmp_path / "kv.txt"
    path.write_text("text:hi there\tlabels:hello|hey\n"
                    + "text:how are you?\tlabels:fine\tepisode_done:True\n"
                    + "text:bye\teval_labels:see you\tepisode_done:True\n")
    assert dialogue.read_parlai(path) == [[("hi there", "hello"), ("how are you?", "fine")], [("bye", "see you")]]
    bad = tmp_path / "bad.txt"
    bad.write_text("just some prose\n")
    with pytest.raises(ValueError, match="unknown dialogue format"):
        dialogue.read_parlai(bad)
    empty = tmp_path / "empty.txt"
    empty.write_text("1 hello\tworld\n2 \tanyone?\n")
    with pytest.raises(ValueError, match="empty.txt:2: empty utterance"):
        dialogue.read_parlai(empty, skip_empty=False)
    assert dialogue.read_parlai(empty) == [[("hello", "world")]]
    with pytest.raises(FileNotFoundError, match="no dialogue file"):
        dialogue.read_parlai(tmp_path / "missing.txt")


def test_fbdialog_conversations_split_on_blank_lines_and_restarts(tmp_path):
    path = tmp_path / "fb.txt"
    path.write_text("1 a\tb\n2 c\td\n\n1 e\tf\n1 g\th\n")
    assert dialogue.read_parlai(path) == [[("a", "b"), ("c", "d")], [("e", "f")], [("g", "h")]]


def test_original_cornell_files(tmp_path):
    sep = " +++$+++ "
    lines = [sep.join(["L3", "u1", "m0", "A", "Third."]), sep.join(["L2", "u0", "m0", "B", "Second?"]),
             sep.join(["L1", "u1", "m0", "A", "First"]), sep.join(["L9", "u2", "m1", "C", "Alone"]),
             sep.join(["L8", "u2", "m1", "C", " "])]
    convs = [sep.join(["u1", "u0", "m0", "['L1', 'L2', 'L3']"]), sep.join(["u2", "u3", "m1", "['L8', 'L9']"])]
    (tmp_path / "movie_lines.txt").write_text("\n".join(lines), encoding="iso-8859-1")
    (tmp_path / "movie_conversations.txt").write_text("\n".join(convs), encoding="iso-8859-1")
    assert dialogue.read_cornell(tmp_path) == [[("First", "Second?"), ("Second?", "Third.")]]
    with pytest.raises(FileNotFoundError, match="movie_lines.txt"):
        dialogue.read_cornell(tmp_path / "nowhere")


def test_embedded_chatterbot_default():
    conversations = dialogue.chatterbot()
    pairs = dialogue.pairs(conversations)
    assert len(conversations) > 300 and len(pairs) >= len(conversations)
    assert all(c.strip() and r.strip() for c, r in pairs)
    assert ("Hello", "Hi") in pairs


def test_resplit_is_seeded_disjoint_and_complete(cornell_dir):
    union = dialogue.cornell_union(cornell_dir)
    idx = dialogue.resplit_indices(len(union), seed=0)
    tenth = int(0.1 * len(union))
    assert [len(idx[s]) for s in ("train", "valid", "test")] == [len(union) - 2 * tenth, tenth, tenth]
    all_idx = np.concatenate(list(idx.values()))
    assert sorted(all_idx.tolist()) == list(range(len(union)))
    again = dialogue.resplit_indices(len(union), seed=0)
    assert all(np.array_equal(idx[s], again[s]) for s in idx)
    assert not np.array_equal(idx["test"], dialogue.resplit_indices(len(union), seed=1)["test"])
    splits = dialogue.cornell_resplit(cornell_dir)
    assert sum(len(dialogue.pairs(v)) for v in splits.values()) == len(dialogue.pairs(union))
    with pytest.raises(ValueError, match="fractions"):
        dialogue.resplit_indices(10, fractions=(0.5, 0.5, 0.5))


def test_encode_pairs_pads_truncates_and_marks():
    vocab = Vocabulary.build([tokenize("a b c d e f")], max_size=20)
    batch = dialogue.encode_pairs([("a b c d e", "f e d c"), ("zz", "a")], vocab, max_context=3, max_response=2)
    ids = dict(zip(vocab.tokens, range(len(vocab))))
    np.testing.assert_array_equal(batch.context[0], [ids["c"], ids["d"], ids["e"]])  # the last 3 context tokens
    np.testing.assert_array_equal(batch.context[1], [UNK_ID, PAD_ID, PAD_ID])
    np.testing.assert_array_equal(batch.response_in[0], [GO_ID, ids["f"], ids["e"]])  # the first 2 response tokens
    np.testing.assert_array_equal(batch.response_out[0], [ids["f"], ids["e"], EOS_ID])
    np.testing.assert_array_equal(batch.response_out[1], [ids["a"], EOS_ID, PAD_ID])
    assert batch.context_length.tolist() == [3, 1] and batch.response_length.tolist() == [3, 2]
    with pytest.raises(ValueError, match="empty utterance"):
        dialogue.encode_pairs([("...", "")], vocab, 3, 2)


def test_tfds_builder_matches_the_resplit(tmp_path, cornell_dir):
    from seqvi.data.tfds_dialogue import build

    sources = build(cornell_dir, tmp_path / "tfds")
    splits = dialogue.cornell_resplit(cornell_dir)
    assert {s: len(v) for s, v in sources.items()} == {s: len(dialogue.pairs(v)) for s, v in splits.items()}
    union = dialogue.cornell_union(cornell_dir)
    example = sources["test"][0]
    text = (example["context"].decode(), example["response"].decode())
    assert text in union[int(example["conversation"])]
    code = "import sys, seqvi.data.tfds_dialogue; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_dialogue_schedule_is_deterministic_with_fixed_shapes():
    pairs = [(f"context {i}", f"response {i}") for i in range(10)]
    vocab = Vocabulary.build([tokenize(u) for p in pairs for u in p], max_size=40)
    schedule = dialogue.DialogueSchedule(pairs, vocab, batch_size=4, max_context=3, max_response=3, seed=1)
    assert schedule.batches_per_epoch == 3
    epoch = [schedule.batch(s) for s in range(3)]
    assert all(b["context"].shape == (4, 3) and b["response_in"].shape == (4, 4) for b in epoch)
    seen = {tuple(row) for b in epoch for row in b["context"]}
    assert len(seen) == 10  # every pair in the epoch (the last batch wraps around)
    np.testing.assert_array_equal(schedule.batch(1)["context"], epoch[1]["context"])
    assert not np.array_equal(schedule.batch(3)["context"], epoch[0]["context"])  # a new epoch, a new order
