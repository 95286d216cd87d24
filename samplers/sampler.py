"""The ``Sampler`` interface shared by every sampler of the package.

A sampler is configured at construction (step size, Metropolis correction,
ladder, ...) and run by :meth:`Sampler.sample`.  This module holds what every
sampler does the same way: validating the arguments, turning ``rng`` into
per-chain streams, choosing initial points, and the run's attributes.
"""
import json
import math
import numbers

import numpy as np

from . import __version__
from ._rng import chain_keys, make_seed
from .targets import Target

__all__ = ["Sampler", "check_count", "check_positive"]


def check_count(value, name, minimum=1):
    """An int >= ``minimum``, or a ``ValueError``/``TypeError`` naming ``name``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def check_positive(value, name, allow_none=False, upper=None):
    """A finite float > 0 (and < ``upper`` when given), or an error naming ``name``."""
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value) or value <= 0 or (upper is not None and value >= upper):
        bound = f" and < {upper}" if upper is not None else ""
        raise ValueError(f"{name} must be finite and > 0{bound}, got {value}")
    return value


class Sampler:
    """Base class: ``sample(target, draws, *, tune, chains, rng, ...)`` -> ``InferenceData``."""

    #: Name recorded in the output's attributes.
    name = "Sampler"

    def settings(self):
        """The constructor arguments, as recorded in the output's attributes."""
        raise NotImplementedError

    def sample(self, target, draws=1000, *, tune=1000, chains=4, rng=None, initial=None,
               thin=1, progressbar=True, save_warmup=False):
        """Draw ``draws`` samples per chain after ``tune`` warm-up steps.

        Parameters
        ----------
        target : Target
        draws : int
            Recorded draws per chain (after thinning).
        tune : int
            Warm-up steps (not draws: warm-up is thinned by ``thin`` when saved).
        chains : int
            Independent chains, run in parallel.
        rng : None, int or numpy.random.Generator
            Seed (SPEC 7).  The same seed gives bit-identical draws whatever
            the thread count or progress bar.
        initial : array (dim,) or (chains, dim), optional
            Initial points; by default drawn by ``target.default_initial``.
        thin : int
            Keep one state in ``thin``.
        progressbar : bool
        save_warmup : bool
            Also return the warm-up as ``warmup_posterior``.

        Returns
        -------
        arviz.InferenceData
        """
        self._check_target(target)
        draws = check_count(draws, "draws")
        tune = check_count(tune, "tune", minimum=0)
        chains = check_count(chains, "chains")
        thin = check_count(thin, "thin")
        seed = make_seed(rng)
        x0 = self._initial(target, initial, chains, seed)
        run = dict(draws=draws, tune=tune, thin=thin, save_warmup=bool(save_warmup),
                   step0=0, seed=seed)
        return self._run(target, x0, chain_keys(seed, chains), run, None, progressbar)

    def resume(self, idata, target, draws=1000, *, thin=1, progressbar=True):
        """Continue a finished run by ``draws`` more draws, without tuning.

        The result holds only the new draws; joined to the first part with
        ``samplers.concat(idata, more)`` they are bit-identical to one run of
        the combined length with the same seed and ``thin``.  ``idata`` may
        have been saved to NetCDF and loaded back.
        """
        from .inference_data import SAMPLER_STATE

        self._check_target(target)
        draws = check_count(draws, "draws")
        thin = check_count(thin, "thin")
        if SAMPLER_STATE not in idata.groups():
            raise ValueError("idata has no sampler_state group: it was not made by samplers")
        state = idata[SAMPLER_STATE]
        attrs = state.attrs
        if attrs.get("sampler") != self.name or json.loads(attrs["sampler_settings"]) != _jsonable(
                self.settings()):
            raise ValueError(
                f"idata was made by {attrs.get('sampler')} with settings "
                f"{attrs.get('sampler_settings')}; resume it with the same sampler and settings"
            )
        x = np.ascontiguousarray(state["position"].values, dtype=np.float64)
        if x.shape[1] != target.dim:
            raise ValueError(f"idata has positions of dim {x.shape[1]}, target has dim {target.dim}")
        run = dict(draws=draws, tune=0, thin=thin, save_warmup=False,
                   step0=int(attrs["next_step"]), seed=int(attrs["seed"]))
        saved = {k: np.array(state[k].values) for k in state.data_vars}
        return self._run(target, x, saved["keys"].astype(np.uint64), run, saved, progressbar)

    def _run(self, target, x0, keys, run, saved, progressbar):
        """Sample from ``x0`` with ``keys``; ``saved`` is the state of a run being resumed."""
        raise NotImplementedError

    def _attrs(self, run, wall_time, n_chains):
        return {
            "sampler": self.name,
            "sampler_settings": _jsonable(self.settings()),
            "seed": str(run["seed"]),
            "samplers_version": __version__,
            "sampling_time": float(wall_time),
            "tuning_steps": run["tune"],
            "thin": run["thin"],
            "first_step": run["step0"],
            "next_step": run["step0"] + run["tune"] + run["draws"] * run["thin"],
            "chains": n_chains,
        }

    @staticmethod
    def _check_target(target):
        if not isinstance(target, Target):
            raise TypeError(f"target must be a samplers.Target, got {type(target).__name__}")

    @staticmethod
    def _initial(target, initial, chains, seed):
        """Initial points ``(chains, dim)``: validated user points or the target's default."""
        if initial is None:
            rows = []
            for c in range(chains):
                rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(c, 0)))
                rows.append(np.asarray(target.default_initial(rng), dtype=np.float64).reshape(-1))
            x0 = np.array(rows)
        else:
            x0 = np.array(initial, dtype=np.float64)
            if x0.shape == target.shape or x0.shape == (target.dim,):
                x0 = np.broadcast_to(x0.reshape(-1), (chains, target.dim)).copy()
            elif x0.shape in ((chains, target.dim), (chains, *target.shape)):
                x0 = x0.reshape(chains, target.dim).copy()
            else:
                raise ValueError(
                    f"initial must have shape {target.shape} or {(chains, *target.shape)} "
                    f"(chains={chains}), got {x0.shape}"
                )
            if not np.all(np.isfinite(x0)):
                raise ValueError("initial must be finite")
        return np.ascontiguousarray(x0)


def _jsonable(settings):
    return json.loads(json.dumps(settings))
