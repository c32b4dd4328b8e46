"""Dialogue (``seqvi.data.dialogue``): (context, response) pairs of
conversations. The vocabulary of the training pairs is saved in the workdir."""

import pathlib

from seqvi.core import ConfigError
from seqvi.data import dialogue
from seqvi.datasets.base import Dataset, file_record, register

PARLAI_FILES = ("train.txt", "valid.txt", "test.txt")


class Dialogue(Dataset):
    """The dialogue fields of a run: ``split_seed``, ``resplit`` (re-split the
    union of the splits by conversation), ``init_word_vectors``, ``swap_pairs``
    (train p(context | response), MMI-bidi's backward model), ``lenient`` (skip
    malformed lines), vocabulary and length limits, batches sorted by response
    length in runs of 8 and trimmed to a multiple of 7 steps."""

    task = "dialogue"
    fields = ("context", "context_length", "response_in", "response_out", "response_length")
    vocab_size: int = 8000
    num_steps: int = 3000

    def configure(self, c, **options) -> None:
        super().configure(c, **options)
        c.split_seed = 0
        c.resplit = False
        c.init_word_vectors = ""  # a GloVe/word2vec text file: the embedding rows of the words it has
        c.swap_pairs = False
        c.lenient = False
        c.vocab_size = self.vocab_size
        c.max_context = 20
        c.max_response = 20
        c.length_bucket = 7  # 0: every batch max_response + 1 steps (seqvi.data.dialogue.DialogueSchedule)
        c.batch_size = 32
        c.learning_rate = 1e-3
        c.lr_decay = "constant"
        c.warmup_steps = 0
        c.clip_norm = 5.0
        c.num_steps = self.num_steps
        c.checkpoint_every = 1000
        c.eval_every = 500
        c.eval = dict(num_particles=16, split="valid", batch_size=64)

    def read(self, config) -> dict[str, list]:
        """The conversations of each split (lists of utterances)."""
        raise NotImplementedError

    def conversations(self, config) -> dict[str, list]:
        """The config's conversations by split; a malformed file is a ConfigError naming it."""
        try:
            return self.read(config)
        except ValueError as e:
            if isinstance(e, ConfigError):
                raise
            lenient_helps = not (config.get("lenient", False) or isinstance(e, dialogue.NotText))
            advice = " (--config.lenient=True skips malformed lines)" if lenient_helps else ""
            raise ConfigError(f"{e}{advice}") from e

    def load_splits(self, config) -> dict[str, list]:
        splits = {split: dialogue.pairs(c) for split, c in self.conversations(config).items()}
        if config.get("swap_pairs", False):  # the backward model p(context | response) of MMI-bidi
            splits = {split: [(r, c) for c, r in p] for split, p in splits.items()}
        if not splits.get("train"):
            raise ConfigError(f"dataset {self.name!r} at {config.get('data_path') or 'the embedded data'}: "
                              "the training split has no pairs")
        return splits

    def record(self, config, splits) -> dict:
        record = super().record(config, splits)
        if self.source == "folder":
            folder = pathlib.Path(config.data_path)
            record.update(folder=str(folder.resolve()), files=[file_record(p) for p in sorted(folder.glob("*.txt"))])
        return record


class Chatterbot(Dialogue):
    """The embedded chatterbot conversations, re-split 0.8/0.1/0.1 by
    conversation with ``split_seed``."""

    name = "chatterbot"
    source = "embedded"
    vocab_size = 2000
    num_steps = 2000

    def read(self, config) -> dict[str, list]:
        return dialogue.resplit(dialogue.chatterbot(), seed=config.split_seed)


class Cornell(Dialogue):
    """The ParlAI Cornell movie dialogues: valid.txt and test.txt of the folder
    ``data_path``, re-split by conversation (8000 words cover 97% of tokens;
    3000 steps are 4.4 epochs of the 22032 training pairs)."""

    name = "cornell"
    source = "folder"
    layout = ("valid.txt", "test.txt")

    def read(self, config) -> dict[str, list]:
        return dialogue.cornell_resplit(self.data_path(config, "folder"), seed=config.split_seed)


class ParlAI(Dialogue):
    """A folder ``data_path`` of ParlAI files train.txt, valid.txt and test.txt,
    kept as they are unless ``config.resplit``."""

    name = "parlai"
    source = "folder"
    layout = PARLAI_FILES

    def read(self, config) -> dict[str, list]:
        folder = self.data_path(config, "folder")
        files = {name[: -len(".txt")]: folder / name for name in PARLAI_FILES}
        missing = [str(p) for p in files.values() if not p.is_file()]
        if missing:
            raise ConfigError(f"a ParlAI folder needs train.txt, valid.txt and test.txt; missing: {', '.join(missing)}")
        strict = not config.get("lenient", False)
        splits = {split: dialogue.read_parlai(path, strict=strict) for split, path in files.items()}
        if config.get("resplit", False):
            return dialogue.resplit(splits["train"] + splits["valid"] + splits["test"], seed=config.split_seed)
        return splits


CHATTERBOT = register(Chatterbot())
CORNELL = register(Cornell())
PARLAI = register(ParlAI())
