"""GTM-SM's image navigation (thesis, sections 7.4.1 and 7.7.1;
``seqvi.data.navigation``): an agent walks over 32 x 32 environments cut from
images, seeing 8 x 8 pixels; rows are the view and a one-hot action."""

from seqvi.data import navigation
from seqvi.datasets.base import Dataset, register


def action_video_config(c, data) -> None:
    """What GTM-SM's data sets share: the ELBO, batch 16, whole sequences padded to
    the training length ``data.num_steps``, evaluation batches of 10 (the GTM-SM
    configs set Adam's rate to 1e-3)."""
    c.bound = "elbo"
    c.batch_size = 16
    c.max_train_length = 0
    c.pad_multiple = data.get_ref("num_steps")
    c.eval.batch_size = 10


def navigation_spec(options, test: bool = False) -> navigation.NavigationSpec:
    """The walks ``options`` (``config.navigation``) describe: ``test_steps`` long for
    the test split, ``num_steps`` otherwise."""
    steps = options.test_steps if test else options.num_steps
    return navigation.NavigationSpec(int(steps), float(options.repeat_rate), bool(options.get("avoid_walls", False)))


def navigation_test_walks(options) -> navigation.Navigation:
    """The test split of ``Navigation.load_splits`` as walks, with their positions:
    ``num_test`` walks of ``test_steps`` steps in environments cut from the test
    images (seed ``seed + 1``)."""
    return navigation.generate(navigation_spec(options, test=True), int(options.num_test),
                               seed=int(options.seed) + 1, images=navigation.TEST_IMAGES)


class Navigation(Dataset):
    """Walks of tau + 32 steps for training (tau = 256), tau + 256 at test
    (``config.navigation``)."""

    name = "navigation"
    source = "generated"

    def configure(self, c, **options) -> None:
        super().configure(c, **options)
        c.navigation = dict(num_steps=288, test_steps=512, repeat_rate=3.0, num_train=2000, num_valid=50,
                            num_test=100, seed=0, avoid_walls=False)
        action_video_config(c, c.navigation)

    def load_splits(self, config) -> dict[str, list]:
        """{'train', 'valid', 'test'}: lists of [T, 64 + 5] float32 rows (view, one-hot
        action). Train and valid environments are cut from the training images
        (seeds ``seed`` and ``seed + 2``), test ones from the other images (seed
        ``seed + 1``) with ``test_steps`` steps (the thesis: 256 memorised + 256
        predicted); ``avoid_walls`` (optional) for every split."""
        options = config.navigation
        spec, test_spec = navigation_spec(options), navigation_spec(options, test=True)
        out = {}
        for split, offset, images, s in (("train", 0, navigation.TRAIN_IMAGES, spec),
                                         ("test", 1, navigation.TEST_IMAGES, test_spec),
                                         ("valid", 2, navigation.TRAIN_IMAGES, spec)):
            data = navigation.generate(s, int(options[f"num_{split}"]), seed=int(options.seed) + offset,
                                       images=images)
            out[split] = list(navigation.rows(data))
        return out

    def record(self, config, splits) -> dict:
        return dict(super().record(config, splits), generator=config.navigation.to_dict())


NAVIGATION = register(Navigation())
