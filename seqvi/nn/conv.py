"""Convolutional frame encoder and sub-pixel decoder (the KVAE's, thesis section 6.7).

Frames travel flattened ([H * W], row-major) like every other observation in
seqvi; the networks reshape them to [H, W, 1] inside.
"""

import flax.linen as nn
import jax

from seqvi.nn.heads import DiagGaussianHead


def depth_to_space(x: jax.Array, block: int = 2) -> jax.Array:
    """[h, w, c * block^2] -> [h * block, w * block, c]: the sub-pixel shuffle, with
    channel (i * block + j) * c + k going to pixel offset (i, j), channel k."""
    h, w, channels = x.shape
    c = channels // (block * block)
    x = x.reshape(h, w, block, block, c).transpose(0, 2, 1, 3, 4)
    return x.reshape(h * block, w * block, c)


class ConvEncoder(nn.Module):
    """x [H * W] -> (mean, scale) [features]: ``num_layers`` 3x3 convolutions of
    ``filters`` filters with stride 2 and ReLU, then a diagonal-Gaussian head."""

    image_size: int
    features: int
    filters: int = 32
    num_layers: int = 3

    @nn.compact
    def __call__(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        h = x.reshape(self.image_size, self.image_size, 1)
        for i in range(self.num_layers):
            h = nn.relu(nn.Conv(self.filters, (3, 3), strides=(2, 2), padding="SAME", name=f"conv_{i}")(h))
        return DiagGaussianHead(self.features, name="head")(h.reshape(-1))


class SubPixelDecoder(nn.Module):
    """a [m] -> logits [H * W]: a dense layer to an [H / 2^L, W / 2^L, filters]
    map, then L blocks of (3x3 convolution to 4 * filters channels, sub-pixel
    shuffle x2, ReLU), then a 3x3 convolution to one channel of logits."""

    image_size: int
    filters: int = 32
    num_layers: int = 3

    @nn.compact
    def __call__(self, a: jax.Array) -> jax.Array:
        side = self.image_size // 2**self.num_layers
        if side * 2**self.num_layers != self.image_size:
            raise ValueError(f"image_size {self.image_size} is not divisible by 2^{self.num_layers}")
        h = nn.relu(nn.Dense(side * side * self.filters, name="project")(a)).reshape(side, side, self.filters)
        for i in range(self.num_layers):
            h = nn.Conv(4 * self.filters, (3, 3), padding="SAME", name=f"conv_{i}")(h)
            h = nn.relu(depth_to_space(h))
        logits = nn.Conv(1, (3, 3), padding="SAME", name="logits")(h)
        return logits.reshape(-1)

