"""Dialogue data: a tokenizer, a vocabulary, context-response pairs, their readers,
the seeded re-split by conversation, and padded id arrays for the models.

Tokenizer (``tokenize``), applied to every utterance:
  0. Unescaping (``unescape``), in one left-to-right pass: the backslash escapes
     ParlAI and Python-repr'd text carry, \\' -> ', \\" -> ", \\\\ -> \\, and
     \\n, \\t, \\r -> a space; ParlAI's __PIPE__ -> |; then HTML entities
     (``html.unescape``: &amp; -> &, &lt; -> <, &gt; -> >, &quot; -> ", &#39; -> ').
     A backslash before any other character is kept (and is a token of its own).
  1. Unicode NFKC normalisation; curly quotes and apostrophes become ' and ";
     lower-casing.
  2. A word is a run of letters and digits, with apostrophes kept inside it
     ("don't", "o'clock"); a leading or trailing apostrophe is its own token.
  3. A run of two or more dots is one token ("..."); every other character that is
     neither a letter, a digit nor white space is a token of its own ("?", "-").
  4. White space separates tokens and is dropped.

Vocabulary: the ids 0..3 are <pad>, <go>, <eos> and <unk>; then the training
tokens by decreasing count (ties alphabetically), at most ``max_size`` in all.

Sources of conversations (each a list of (context, response) pairs):
  ``read_parlai``      ParlAI text files, fbdialog ("N utterance<TAB>reply", a blank
                       line or N = 1 starting a conversation, a line with no
                       reply making no pair) or key-value
                       ("text:...<TAB>labels:...", episode_done:True ending one);
                       strict by default, with ``strict=False`` skipping
                       malformed lines and reporting them (a warning, or
                       ``read_parlai_with_report``);
  ``read_cornell``     the original Cornell Movie-Dialogs files movie_lines.txt and
                       movie_conversations.txt (consecutive lines make the pairs);
  ``read_aligned``     line-aligned inputs/targets files (one pair per conversation);
  ``chatterbot``       the embedded default: the chatterbot-corpus English
                       conversations (seqvi/data/embedded/chatterbot_english).

Re-split (``resplit``): conversations are permuted with
``numpy.random.default_rng(seed)`` and cut into train/valid/test by the given
fractions (default 0.8/0.1/0.1, counts rounded down for valid and test), so no
conversation crosses splits. For the ParlAI Cornell pairs (valid.txt and test.txt), the union is
valid.txt's conversations followed by test.txt's, in file order (``cornell_resplit``).
"""

import collections
import html
import pathlib
import re
import unicodedata
import warnings
from collections.abc import Iterable, Sequence
from typing import NamedTuple

import numpy as np

from seqvi._extras import require

PAD, GO, EOS, UNK = "<pad>", "<go>", "<eos>", "<unk>"
SPECIALS = (PAD, GO, EOS, UNK)
PAD_ID, GO_ID, EOS_ID, UNK_ID = range(4)

_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)*|\.{2,}|[^\s]")
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "`": "'"})
_ESCAPE = re.compile(r"\\(['\"\\ntr])")  # ParlAI's backslash escapes: \' \" \\ \n \t \r

Conversation = list[tuple[str, str]]


def unescape(text: str) -> str:
    """``text`` with ParlAI's escapes and HTML entities undone, in this order:

    - backslash escapes, one left-to-right pass: \\' -> ', \\" -> ", \\\\ -> \\,
      \\n, \\t and \\r -> a space (so "\\\\n" is a backslash then "n"); a
      backslash before any other character, or at the end, is kept;
    - ParlAI's pipe escape __PIPE__ -> |;
    - HTML entities with ``html.unescape`` (&amp; -> &, &lt; -> <, &gt; -> >,
      &quot; -> ", &#39; -> ', and every other named or numeric entity), once:
      "&amp;lt;" becomes "&lt;".
    """
    text = _ESCAPE.sub(lambda m: " " if m.group(1) in "ntr" else m.group(1), text)
    return html.unescape(text.replace("__PIPE__", "|"))


def tokenize(text: str) -> list[str]:
    """The tokens of ``text`` under the rules of the module docstring: ``unescape``
    (ParlAI backslash escapes \\' \\" \\\\ \\n \\t \\r, __PIPE__, then HTML entities
    such as &amp; &lt; &gt; &quot; &#39;), NFKC, quote folding, lower-casing, then
    words (apostrophes inside kept: "how\\'s" -> "how's"), dot runs and single
    symbols. Never fails; an empty or blank ``text`` gives []."""
    text = unicodedata.normalize("NFKC", unescape(text)).translate(_QUOTES).lower()
    return _TOKEN.findall(text)


class Vocabulary:
    """Token <-> id maps; ``tokens[i]`` is the token with id i, specials first."""

    def __init__(self, tokens: Sequence[str]):
        tokens = tuple(tokens)
        if tokens[: len(SPECIALS)] != SPECIALS:
            raise ValueError(f"a vocabulary starts with {SPECIALS}, got {tokens[:len(SPECIALS)]}")
        duplicates = [t for t, c in collections.Counter(tokens).items() if c > 1]
        if duplicates:
            raise ValueError(f"repeated tokens in the vocabulary: {duplicates[:5]}")
        self.tokens = tokens
        self._ids = {t: i for i, t in enumerate(tokens)}

    # The special ids, for code that must not import this module (the models and
    # decoders take them as arguments: go_id=vocab.go_id, ...).
    pad_id, go_id, eos_id, unk_id = PAD_ID, GO_ID, EOS_ID, UNK_ID

    @classmethod
    def build(cls, utterances: Iterable[Sequence[str]], max_size: int, min_count: int = 1) -> "Vocabulary":
        """The ``max_size - 4`` most frequent tokens (count >= ``min_count``) of
        tokenized ``utterances``, after the four specials."""
        if max_size <= len(SPECIALS):
            raise ValueError(f"max_size must exceed the {len(SPECIALS)} special tokens, got {max_size}")
        counts = collections.Counter(t for u in utterances for t in u)
        ranked = sorted((t for t, c in counts.items() if c >= min_count and t not in SPECIALS),
                        key=lambda t: (-counts[t], t))
        return cls(SPECIALS + tuple(ranked[: max_size - len(SPECIALS)]))

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, tokens: Sequence[str]) -> list[int]:
        """Ids of ``tokens``; unknown tokens map to <unk>."""
        return [self._ids.get(t, UNK_ID) for t in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Tokens of ``ids`` up to the first <eos>, without <pad> and <go>."""
        out = []
        for i in ids:
            i = int(i)
            if not 0 <= i < len(self.tokens):
                raise ValueError(f"id {i} is outside this vocabulary of {len(self.tokens)} tokens")
            if i == EOS_ID:
                break
            if i not in (PAD_ID, GO_ID):
                out.append(self.tokens[i])
        return out

    def save(self, path) -> None:
        pathlib.Path(path).write_text("\n".join(self.tokens) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path) -> "Vocabulary":
        return cls(pathlib.Path(path).read_text(encoding="utf-8").splitlines())


# ---- readers ---------------------------------------------------------------------------


def _pair(context: str, response: str, where: str, skip_empty: bool) -> list[tuple[str, str]]:
    """[(context, response)] stripped, or [] for a pair with an empty side when
    ``skip_empty`` (else a ValueError naming ``where``)."""
    context, response = context.strip(), response.strip()
    if context and response:
        return [(context, response)]
    if skip_empty:
        return []
    raise ValueError(f"{where}: empty utterance (context {context!r}, response {response!r})")


def _malformed(path, number: int, expected: str, line: str) -> ValueError:
    """The strict reader's error for line ``number`` of ``path``."""
    return ValueError(f"{path}:{number}: expected {expected}, got {line[:80]!r} "
                      f"(strict=False skips malformed lines and reports them)")


_FBDIALOG = "'N utterance<TAB>reply' (N a turn number)"
_KEY_VALUE = "'text:...<TAB>labels:...'"


def _fbdialog(lines: list[str], path, skip_empty: bool, strict: bool) -> tuple[list[Conversation], list[int]]:
    """(conversations, line numbers of skipped malformed lines) of fbdialog ``lines``;
    a malformed line raises when ``strict``, else is skipped as if absent."""
    conversations: list[Conversation] = []
    current: Conversation = []
    skipped: list[int] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            if current:
                conversations.append(current)
            current = []
            continue
        index, _, rest = line.partition(" ")
        if not index.isdigit():
            if strict:
                raise _malformed(path, number, _FBDIALOG, line)
            skipped.append(number)
            continue
        if index == "1" and current:
            conversations.append(current)
            current = []
        if "\t" in rest:  # a line without a reply (a conversation's last turn) makes no pair
            context, response = rest.split("\t")[:2]
            current += _pair(context, response, f"{path}:{number}", skip_empty)
    if current:
        conversations.append(current)
    return conversations, skipped


def _key_value(lines: list[str], path, skip_empty: bool, strict: bool) -> tuple[list[Conversation], list[int]]:
    """(conversations, line numbers of skipped malformed lines) of key-value
    ``lines``; a malformed line raises when ``strict``, else is skipped."""
    conversations: list[Conversation] = []
    current: Conversation = []
    skipped: list[int] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        fields = dict(f.split(":", 1) for f in line.split("\t") if ":" in f)
        if "text" not in fields or not ({"labels", "eval_labels"} & fields.keys()):
            if strict:
                raise _malformed(path, number, _KEY_VALUE, line)
            skipped.append(number)
            continue
        label = fields.get("labels", fields.get("eval_labels", "")).split("|")[0]
        current += _pair(fields["text"].replace("\\n", " "), label, f"{path}:{number}", skip_empty)
        if fields.get("episode_done", "").strip().lower() == "true" and current:
            conversations.append(current)
            current = []
    if current:
        conversations.append(current)
    return conversations, skipped


class ParlAIRead(NamedTuple):
    """What ``read_parlai_with_report`` read from one file."""

    conversations: list[Conversation]
    skipped: tuple[int, ...]  # 1-based numbers of the malformed lines skipped (lenient mode only)
    num_lines: int  # the file's non-blank lines


class MalformedLinesWarning(UserWarning):
    """``read_parlai(strict=False)`` skipped malformed lines of a ParlAI file."""


def _parlai_format(lines: list[str]) -> str | None:
    """'fbdialog' or 'key-value': the format of the first line that has either shape."""
    for line in lines:
        if re.match(r"^\d+ ", line):
            return "fbdialog"
        if line.startswith("text:") or "\ttext:" in line:
            return "key-value"
    return None


class NotText(ValueError):
    """A dialogue file that is not UTF-8 text (skipping lines cannot help)."""


def read_parlai_with_report(path, skip_empty: bool = True, strict: bool = True) -> ParlAIRead:
    """The conversations of a ParlAI text file and the malformed lines skipped.

    The format (fbdialog or key-value) is that of the first line shaped like
    either. A malformed line (fbdialog: no turn number, e.g. "\\t Where are they ?";
    key-value: no text or labels field) raises a ValueError naming the file and
    line when ``strict`` (the default), and with ``strict=False`` is skipped as if
    it were absent, its line number recorded in ``skipped``. Pairs with an empty
    side are dropped, or with ``skip_empty=False`` raise a ValueError naming the
    line. Raises FileNotFoundError for a missing file and ValueError (naming the
    file) when it is not UTF-8 text or no line has either format."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no dialogue file at {path}")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as e:
        raise NotText(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    kind = _parlai_format(lines)
    if kind is None:
        first = next((ln for ln in lines if ln.strip()), "")
        raise ValueError(f"{path}: unknown dialogue format: neither ParlAI fbdialog ('N utterance<TAB>reply') "
                         f"nor ParlAI key-value ('text:...<TAB>labels:...'); first line {first[:80]!r}")
    reader = _fbdialog if kind == "fbdialog" else _key_value
    conversations, skipped = reader(lines, path, skip_empty, strict)
    return ParlAIRead(conversations, tuple(skipped), sum(1 for ln in lines if ln.strip()))


def read_parlai(path, skip_empty: bool = True, strict: bool = True) -> list[Conversation]:
    """Conversations of a ParlAI text file (fbdialog or key-value format), as
    ``read_parlai_with_report``: strict by default (a malformed line raises a
    ValueError naming the file and line); with ``strict=False`` malformed lines
    are skipped and, if any were, one ``MalformedLinesWarning`` says how many and
    which (the first 10 line numbers). Pairs with an empty side (a handful in
    ParlAI's Cornell files) are dropped, or with ``skip_empty=False`` raise."""
    read = read_parlai_with_report(path, skip_empty, strict)
    if read.skipped:
        shown = ", ".join(map(str, read.skipped[:10])) + (", ..." if len(read.skipped) > 10 else "")
        plural = "s" if len(read.skipped) > 1 else ""
        warnings.warn(f"{path}: skipped {len(read.skipped)} malformed line{plural} of {read.num_lines} "
                      f"non-blank (line{plural} {shown})", MalformedLinesWarning, stacklevel=2)
    return read.conversations


_CORNELL_SEP = " +++$+++ "


def read_cornell(directory) -> list[Conversation]:
    """Conversations of the original Cornell Movie-Dialogs Corpus in ``directory``
    (movie_lines.txt, movie_conversations.txt; ISO-8859-1): each conversation's
    consecutive lines make its pairs. Lines with no text are dropped first."""
    directory = pathlib.Path(directory)
    files = [directory / "movie_lines.txt", directory / "movie_conversations.txt"]
    for f in files:
        if not f.is_file():
            raise FileNotFoundError(f"no {f.name} in {directory} (the Cornell Movie-Dialogs Corpus files)")
    text = {}
    for number, line in enumerate(files[0].read_text(encoding="iso-8859-1").splitlines(), 1):
        fields = line.split(_CORNELL_SEP)
        if len(fields) != 5:
            raise ValueError(f"{files[0]}:{number}: expected 5 fields separated by '{_CORNELL_SEP}'")
        if fields[4].strip():
            text[fields[0]] = fields[4].strip()
    conversations = []
    for number, line in enumerate(files[1].read_text(encoding="iso-8859-1").splitlines(), 1):
        fields = line.split(_CORNELL_SEP)
        if len(fields) != 4:
            raise ValueError(f"{files[1]}:{number}: expected 4 fields separated by '{_CORNELL_SEP}'")
        ids = re.findall(r"L\d+", fields[3])
        turns = [text[i] for i in ids if i in text]
        pairs = list(zip(turns[:-1], turns[1:]))
        if pairs:
            conversations.append(pairs)
    return conversations


def read_aligned(inputs_path, targets_path, skip_empty: bool = True) -> list[Conversation]:
    """Line-aligned inputs and targets files: each pair its own conversation (pairs
    with an empty side as in ``read_parlai``)."""
    inputs = pathlib.Path(inputs_path).read_text(encoding="utf-8").splitlines()
    targets = pathlib.Path(targets_path).read_text(encoding="utf-8").splitlines()
    if len(inputs) != len(targets):
        raise ValueError(f"{inputs_path} has {len(inputs)} lines but {targets_path} has {len(targets)}")
    found = (_pair(c, r, f"{inputs_path}:{i}", skip_empty) for i, (c, r) in enumerate(zip(inputs, targets), 1))
    return [pair for pair in found if pair]


def chatterbot_dir() -> pathlib.Path:
    """The embedded chatterbot-corpus English YAML files."""
    return pathlib.Path(__file__).resolve().parent / "embedded" / "chatterbot_english"


def chatterbot(directory=None) -> list[Conversation]:
    """The chatterbot-corpus conversations (default: the embedded English ones):
    every YAML file's ``conversations`` lists of utterances, consecutive
    utterances making the pairs. Files in sorted order."""
    yaml = require("yaml", "data")

    directory = pathlib.Path(directory) if directory is not None else chatterbot_dir()
    files = sorted(directory.glob("*.yml"))
    if not files:
        raise FileNotFoundError(f"no chatterbot .yml files in {directory}")
    conversations = []
    for f in files:
        for turns in yaml.safe_load(f.read_text(encoding="utf-8")).get("conversations", []):
            turns = [str(t).strip() for t in turns if str(t).strip()]
            pairs = list(zip(turns[:-1], turns[1:]))
            if pairs:
                conversations.append(pairs)
    return conversations


# ---- splits and arrays -----------------------------------------------------------------


def resplit_indices(num_conversations: int, seed: int = 0,
                    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)) -> dict[str, np.ndarray]:
    """Conversation indices of train/valid/test: a seeded permutation cut by
    ``fractions`` (valid and test counts rounded down)."""
    if len(fractions) != 3 or min(fractions) < 0 or abs(sum(fractions) - 1.0) > 1e-6:
        raise ValueError(f"fractions must be three non-negative numbers summing to 1, got {fractions}")
    order = np.random.default_rng(seed).permutation(num_conversations)
    num_valid = int(fractions[1] * num_conversations)
    num_test = int(fractions[2] * num_conversations)
    num_train = num_conversations - num_valid - num_test
    return {"train": order[:num_train], "valid": order[num_train:num_train + num_valid],
            "test": order[num_train + num_valid:]}


def resplit(conversations: Sequence[Conversation], seed: int = 0,
            fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)) -> dict[str, list[Conversation]]:
    """train/valid/test lists of conversations (``resplit_indices``)."""
    return {split: [conversations[i] for i in idx]
            for split, idx in resplit_indices(len(conversations), seed, fractions).items()}


def cornell_union(directory) -> list[Conversation]:
    """The Cornell conversations of ParlAI's valid.txt then test.txt in ``directory``."""
    directory = pathlib.Path(directory)
    return read_parlai(directory / "valid.txt") + read_parlai(directory / "test.txt")


def cornell_resplit(directory, seed: int = 0) -> dict[str, list[Conversation]]:
    """The re-split of the Cornell pairs in ``directory`` (valid.txt and test.txt)."""
    return resplit(cornell_union(directory), seed)


def pairs(conversations: Iterable[Conversation]) -> list[tuple[str, str]]:
    return [p for c in conversations for p in c]


class Batch(NamedTuple):
    context: np.ndarray  # [N, Lc] int32 ids, right-padded with <pad>
    context_length: np.ndarray  # [N]
    response_in: np.ndarray  # [N, Lr + 1]: <go> w_1 .. w_n, padded
    response_out: np.ndarray  # [N, Lr + 1]: w_1 .. w_n <eos>, padded
    response_length: np.ndarray  # [N] n + 1 (the steps that are scored)


def encode_pairs(pairs_: Sequence[tuple[str, str]], vocab: Vocabulary, max_context: int,
                 max_response: int) -> Batch:
    """Padded id arrays for (context, response) pairs. A context keeps its last
    ``max_context`` tokens (the most recent words), a response its first
    ``max_response``; the decoder reads <go> + response and predicts response + <eos>."""
    if max_context < 1 or max_response < 1:
        raise ValueError(f"length limits must be positive, got {max_context} and {max_response}")
    n = len(pairs_)
    ctx = np.full((n, max_context), PAD_ID, np.int32)
    r_in = np.full((n, max_response + 1), PAD_ID, np.int32)
    r_out = np.full((n, max_response + 1), PAD_ID, np.int32)
    ctx_len = np.zeros(n, np.int32)
    r_len = np.zeros(n, np.int32)
    for i, (context, response) in enumerate(pairs_):
        c = vocab.encode(tokenize(context))[-max_context:]
        r = vocab.encode(tokenize(response))[:max_response]
        if not c or not r:
            raise ValueError(f"pair {i}: empty utterance after tokenizing ({context!r}, {response!r})")
        ctx[i, : len(c)] = c
        ctx_len[i] = len(c)
        r_in[i, : len(r) + 1] = [GO_ID] + r
        r_out[i, : len(r) + 1] = r + [EOS_ID]
        r_len[i] = len(r) + 1
    return Batch(ctx, ctx_len, r_in, r_out, r_len)


class DialogueSchedule:
    """Shuffled training batches of pairs as id arrays; ``batch(step)`` is
    deterministic: epoch e permutes the pairs with ``default_rng([seed, e])``. The
    last batch of an epoch is filled with pairs from the start of the permutation.

    ``length_multiple`` 0: every batch has the full shapes (one compiled step for
    the whole run). Otherwise length bucketing: each run of ``bucket_batches``
    batches of the permutation is sorted by response length, cut into batches
    served in a shuffled order, and each batch's responses are trimmed to its
    longest rounded up to a multiple of ``length_multiple`` (so at most
    ceil((max_response + 1) / length_multiple) compiled shapes). Cornell's
    responses fill about half of 21 steps, so this saves about half of the
    decoder and output layer's work (benchmarks/dialogue.py)."""

    def __init__(self, pairs_: Sequence[tuple[str, str]], vocab: Vocabulary, batch_size: int, max_context: int,
                 max_response: int, seed: int = 0, length_multiple: int = 0, bucket_batches: int = 8):
        if not pairs_:
            raise ValueError("DialogueSchedule needs at least one pair")
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        if length_multiple < 0 or bucket_batches < 1:
            raise ValueError(f"need length_multiple >= 0 and bucket_batches >= 1, got {length_multiple} and "
                             f"{bucket_batches}")
        self.encoded = encode_pairs(pairs_, vocab, max_context, max_response)
        self.batch_size, self.seed = batch_size, seed
        self.length_multiple, self.bucket_batches = length_multiple, bucket_batches
        self.batches_per_epoch = -(-len(pairs_) // batch_size)

    def rows(self, step: int) -> np.ndarray:
        """The pairs (row indices) of batch ``step``."""
        epoch, index = divmod(step, self.batches_per_epoch)
        order = np.random.default_rng([self.seed, epoch]).permutation(len(self.encoded.context))
        if not self.length_multiple:
            return np.take(order, np.arange(index * self.batch_size, (index + 1) * self.batch_size), mode="wrap")
        bucket, position = divmod(index, self.bucket_batches)
        start = bucket * self.bucket_batches
        count = min(self.bucket_batches, self.batches_per_epoch - start)  # the epoch's last bucket may be short
        chunk = np.take(order, np.arange(start * self.batch_size, (start + count) * self.batch_size), mode="wrap")
        chunk = chunk[np.argsort(self.encoded.response_length[chunk], kind="stable")]
        served = np.random.default_rng([self.seed, epoch, bucket]).permutation(count)[position]
        return chunk[served * self.batch_size:(served + 1) * self.batch_size]

    def batch(self, step: int) -> dict[str, np.ndarray]:
        rows = self.rows(step)
        out = {k: v[rows] for k, v in self.encoded._asdict().items()}
        if self.length_multiple:
            full = self.encoded.response_in.shape[1]
            keep = min(full, -(-int(out["response_length"].max()) // self.length_multiple) * self.length_multiple)
            out["response_in"], out["response_out"] = out["response_in"][:, :keep], out["response_out"][:, :keep]
        return out
