"""Peer implementations the benchmarks time seqvi against (PyTorch, Pyro)."""
