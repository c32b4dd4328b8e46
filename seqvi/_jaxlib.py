"""What seqvi does about known faults of the jaxlib it runs on, before XLA starts.

jaxlib 0.10 on CPU: the batched LAPACK kernels (Cholesky, eigh) split a batch over
XLA's intra-op thread pool and wait for the pieces. When as many of them run at
once as the pool has threads, every thread waits and the process stops forever at
0% CPU: GTM-SM's KVAE baseline on 2 cores did on its first step
(docs/how-to/building.md). XLA sizes that pool by the environment variable
``PJRT_NPROC`` or ``NPROC`` when one is set, else by the CPUs the process may use;
with one thread the same run finished 5 times out of 5 (36-56 s, twice with two
runs at once), where turning XLA's concurrency-optimised scheduler off still
stopped once in 2. jaxlib 0.11 and later need nothing.
"""

import importlib.metadata
import os
import warnings


def avoid_cpu_deadlock() -> bool:
    """On jaxlib 0.10, give XLA's CPU intra-op pool one thread (``NPROC=1`` in
    this process's environment, which its subprocesses inherit, unless the user set
    ``NPROC`` or ``PJRT_NPROC``). XLA reads it when
    its first backend starts, so a process that ran a JAX computation before
    importing seqvi gets a ``RuntimeWarning`` saying what to do instead. Returns
    whether seqvi set it. The cost: XLA computations use one core on jaxlib 0.10;
    jax >= 0.11 (Python >= 3.12) uses them all."""
    if not importlib.metadata.version("jaxlib").startswith("0.10.") or {"NPROC", "PJRT_NPROC"} & set(os.environ):
        return False
    os.environ["NPROC"] = "1"
    from jax._src import xla_bridge

    if xla_bridge.backends_are_initialized():
        warnings.warn("jaxlib 0.10 can stop forever on CPU (batched LAPACK kernels on XLA's thread pool) and JAX "
                      "started before seqvi was imported: set NPROC=1 before starting Python, or install jax>=0.11 "
                      "(Python>=3.12)", RuntimeWarning, stacklevel=3)
    return True
