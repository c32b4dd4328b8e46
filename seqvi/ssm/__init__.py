"""Exact and classic state-space inference as pure functions.

``lgssm`` (Kalman filter, RTS smoother, sampling, missing data),
``lgssm_parallel`` (the same by associative scans), ``lgssm_fit`` (EM and
gradient fitting), ``nonlinear`` (EKF, UKF and their smoothers), ``particle``
(bootstrap and guided particle filters on the SMC engine), and ``gaussian``
(the shared conditioning and smoothing steps).
"""

from seqvi.ssm import gaussian, lgssm, lgssm_fit, lgssm_parallel, nonlinear, particle

__all__ = ["gaussian", "lgssm", "lgssm_fit", "lgssm_parallel", "nonlinear", "particle"]
