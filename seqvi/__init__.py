"""seqvi: deep latent-variable sequence models and their inference in JAX/Flax.

Subpackages: ``nn`` (Flax networks), ``smc`` (resampling and the particle engine),
``bounds`` (ELBO, IWAE, FIVO), ``models`` (StepModels and their own losses),
``data`` (readers, TFDS builders, batching), ``train`` (trainer, checkpoints).
"""

__version__ = "0.1.0"
