"""TFDS builder for the Cornell Movie-Dialogs pairs, re-split by conversation,
written as array_record (no TensorFlow).

    builder = CornellPairs(data_dir=..., file_format="array_record")
    builder.download_and_prepare(
      download_config=tfds.download.DownloadConfig(manual_dir="path/to/cornell_parlai_partial"))
    train = builder.as_data_source()["train"]   # train[i]: context, response (bytes), conversation

The manual dir holds ParlAI fbdialog valid.txt and test.txt; their union is
re-split into train/valid/test (0.8/0.1/0.1 of the conversations, seed 0) by
``seqvi.data.dialogue.cornell_resplit``. "conversation" is a conversation's index
in that union (valid.txt's, then test.txt's). Nothing is downloaded.
"""

import numpy as np

from seqvi._extras import require
from seqvi.data.dialogue import cornell_union, resplit_indices

tfds = require("tensorflow_datasets", "data")


class CornellPairs(tfds.core.GeneratorBasedBuilder):
    """Context-response pairs of the Cornell Movie-Dialogs Corpus (ParlAI files)."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Seeded 0.8/0.1/0.1 re-split by conversation of ParlAI's valid and test pairs."}
    MANUAL_DOWNLOAD_INSTRUCTIONS = "Put ParlAI's Cornell valid.txt and test.txt (fbdialog format) in manual_dir."
    SEED = 0

    def _info(self) -> tfds.core.DatasetInfo:
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict({
                "context": tfds.features.Text(),
                "response": tfds.features.Text(),
                "conversation": tfds.features.Scalar(dtype=np.int32),
            }),
            homepage="https://www.cs.cornell.edu/~cristian/Cornell_Movie-Dialogs_Corpus.html",
        )

    def _split_generators(self, dl_manager):
        union = cornell_union(dl_manager.manual_dir)
        splits = resplit_indices(len(union), seed=self.SEED)
        return {split: self._generate_examples(union, indices) for split, indices in splits.items()}

    def _generate_examples(self, union, indices):
        for index in indices:
            for turn, (context, response) in enumerate(union[index]):
                yield f"{index}-{turn}", {"context": context, "response": response, "conversation": np.int32(index)}


def build(manual_dir, data_dir) -> dict:
    """Build (once) and open the re-split pairs: {'train','valid','test'} random-access sources."""
    builder = CornellPairs(data_dir=str(data_dir), file_format="array_record")
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=str(manual_dir)))
    return builder.as_data_source()
