"""Adaptation within a tuning round: step sizes (dual averaging, from the initial
search of ``engine.start.initial_step_size``) and simulated-tempering log weights
(stochastic approximation).

The one owner of both states: dual averaging as init / update / final (as
BlackJAX's adaptation), with a restart for a run whose ladder changed
between rounds; the stochastic approximation as an update with its gain
exponent and a restart at a chosen gain.

Dual averaging (Nesterov 2009; Hoffman and Gelman 2014, section 3.2) drives
the mean acceptance probability to ``target``.  With ``m`` the iteration,
``a_m`` the acceptance probability of iteration ``m`` and ``mu = log(10 h_0)``::

    H_m = (1 - 1/(m + t0)) H_{m-1} + (target - a_m) / (m + t0)
    log h_m = mu - sqrt(m) / gamma * H_m
    log hbar_m = m^{-kappa} log h_m + (1 - m^{-kappa}) log hbar_{m-1}

with gamma = 0.05, t0 = 10, kappa = 0.75.  Tuning ends on ``hbar``.

The state of one chain (at one level) is a float64 vector ``[log_hbar, H, mu, m]``
(``DUAL_AVERAGING_SLOTS`` long); no other module reads or writes its slots.
"""
import numpy as np

from .._jit import jit

__all__ = ["DUAL_AVERAGING_SLOTS", "SA_EXPONENT", "dual_averaging_init", "dual_averaging_update",
           "dual_averaging_started", "dual_averaging_restart", "final_step_size",
           "log_weight_update", "sa_restart_count"]

GAMMA = 0.05
T0 = 10.0
KAPPA = 0.75
#: Length of one chain's (one level's) dual-averaging state ``[log_hbar, H, mu, m]``.
DUAL_AVERAGING_SLOTS = 4
#: Exponent of the stochastic-approximation gain ``gamma_n = min(1, L / n)^SA_EXPONENT``
#: (in (1/2, 1]: the gains sum to infinity, their squares do not).
SA_EXPONENT = 0.6


@jit
def dual_averaging_init(state, step_size):
    state[0] = 0.0
    state[1] = 0.0
    state[2] = np.log(10.0 * step_size)
    state[3] = 0.0


@jit
def dual_averaging_update(state, accept_prob, target):
    """Advance one iteration; return the step size to use next."""
    state[3] += 1.0
    m = state[3]
    w = 1.0 / (m + T0)
    state[1] = (1.0 - w) * state[1] + w * (target - accept_prob)
    log_h = state[2] - np.sqrt(m) / GAMMA * state[1]
    eta = m ** -KAPPA
    state[0] = eta * log_h + (1.0 - eta) * state[0]
    return np.exp(log_h)


@jit
def final_step_size(state):
    """The step size tuning ends on: ``hbar``."""
    return np.exp(state[0])


@jit
def dual_averaging_started(state):
    """Whether ``state`` has had an update (else it has no ``hbar`` to end on)."""
    return state[3] > 0


def dual_averaging_restart(states, step_sizes):
    """Restart dual averaging (Python side, between tuning rounds) at ``step_sizes`` (L,):
    row ``i`` of ``states`` (L, DUAL_AVERAGING_SLOTS) becomes :func:`dual_averaging_init`
    of ``step_sizes[i]``."""
    for i in range(step_sizes.shape[0]):
        states[i] = (0.0, 0.0, np.log(10 * step_sizes[i]), 0.0)


@jit
def log_weight_update(log_weights, level, n):
    """Stochastic-approximation update of simulated-tempering log weights.

    After the ``n``-th update (n >= 1) made at ``level``::

        w_level <- w_level - gamma_n,   gamma_n = min(1, L / n)^SA_EXPONENT

    Over-visited levels lose weight, so the occupancy is driven to uniform
    (Wang and Landau 2001; Tan 2017, "Optimally adjusted mixture sampling").
    Only differences of weights matter; the top level is kept at 0.
    """
    n_levels = log_weights.shape[0]
    gamma = min(1.0, n_levels / n) ** SA_EXPONENT
    log_weights[level] -= gamma
    top = log_weights[n_levels - 1]
    for i in range(n_levels):
        log_weights[i] -= top


def sa_restart_count(n_levels, gain):
    """The update count ``n`` at which the gain of :func:`log_weight_update` on ``n_levels``
    levels is about ``gain``: the smallest integer ``n >= L gain^(-1/SA_EXPONENT)``."""
    return int(np.ceil(n_levels * (1.0 / gain) ** (1.0 / SA_EXPONENT)))
