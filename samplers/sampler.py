"""The ``Sampler`` interface shared by every sampler of the package.

A sampler holds its configuration (step size, Metropolis correction, ladder,
...), set at construction, and turns it into a run plan for a target
(:meth:`Sampler.plan`, an ``engine.RunPlan``), which the engine executes.
This module holds what every sampler does the same way: validating the
arguments, turning ``rng`` into per-chain streams, choosing initial points,
the two ways to start (fresh, or resuming a saved run) and the run's
attributes.
"""
import json
import warnings

import numpy as np

from . import __version__, engine
from ._checks import check_count
from ._rng import chain_keys, make_seed
from .inference_data import to_inference_data
from .targets import Target

__all__ = ["Sampler"]


class Sampler:
    """Base class: ``sample(target, draws, *, tune, chains, rng, ...)`` -> ``InferenceData``.

    A subclass defines :meth:`settings` (its constructor arguments) and
    :meth:`plan` (what the engine runs); it may override :meth:`default_tune`.
    """

    #: Name recorded in the output's attributes.
    name = "Sampler"

    def settings(self):
        """The constructor arguments, as recorded in the output's attributes."""
        raise NotImplementedError

    def plan(self, target, tune=None, initial=None):
        """The run plan (``engine.RunPlan``) of a fresh run on ``target`` with ``tune``
        warm-up steps (``None``: :meth:`default_tune`): the ladder, the explorer, the
        communication, the tuning rounds and the adaptation between them.

        ``initial``, the ``(chains, dim)`` initial points when known, serves samplers
        whose settings depend on the start (``MatrixLangevin``'s default step size).
        """
        raise NotImplementedError

    def default_tune(self, target):
        """Warm-up steps when ``sample`` is called with ``tune=None``: 1000."""
        return 1000

    def _tune(self, target, tune):
        """``tune``, or the default when ``None``, validated."""
        return check_count(self.default_tune(target) if tune is None else tune, "tune", minimum=0)

    def sample(self, target, draws=1000, *, tune=None, chains=4, rng=None, initial=None,
               thin=1, progressbar=True, save_warmup=False):
        """Draw ``draws`` samples per chain after ``tune`` warm-up steps.

        Parameters
        ----------
        target : Target
        draws : int
            Recorded draws per chain (after thinning).
        tune : int, optional
            Warm-up steps (not draws: warm-up is thinned by ``thin`` when saved).
            ``None``: the sampler's default, 1000 steps, or for simulated
            tempering enough for about 100 level moves per level
            (``SimulatedTempering.default_tune``).
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
        tune = self._tune(target, tune)
        chains = check_count(chains, "chains")
        thin = check_count(thin, "thin")
        seed = make_seed(rng)
        x0 = self._initial(target, initial, chains, seed)
        plan = self.plan(target, tune, initial=x0)
        run = engine.RunArgs(draws=draws, thin=thin, save_warmup=bool(save_warmup))
        start = engine.fresh_start(target, plan, x0, chain_keys(seed, chains), run)
        return self._execute(target, plan, start, run, seed, progressbar)

    def resume(self, idata, target, draws=1000, *, thin=1, progressbar=True):
        """Continue a finished run by ``draws`` more draws, without tuning.

        The result holds only the new draws; joined to the first part with
        ``samplers.concat(idata, more)`` they are bit-identical to one run of
        the combined length with the same seed and ``thin``.  ``idata`` may
        have been saved to NetCDF and loaded back.  Run diagnostics (swap
        rates, log Z) of the result cover the continuation only.
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
        saved = {k: np.array(state[k].values) for k in state.data_vars}
        if saved["x"].shape[-1] != target.dim:
            raise ValueError(f"idata has positions of dim {saved['x'].shape[-1]}, "
                             f"target has dim {target.dim}")
        run = engine.RunArgs(draws=draws, thin=thin, save_warmup=False)
        plan = self.plan(target, initial=saved["x"][:, -1]).continuation(saved["betas"][0])
        start = engine.resumed_start(plan, saved, run)
        return self._execute(target, plan, start, run, int(attrs["seed"]), progressbar)

    def _execute(self, target, plan, start, run, seed, progressbar):
        """Run ``plan`` from ``start``; the result as ``InferenceData``."""
        result = engine.run(target, plan, start, run, self.name if progressbar else None)
        draws, warmup = result.records
        self._warn_divergences(result.settings.metropolis, draws.diverging, result.state.frozen)
        attrs = self._attrs(plan.tune, run.thin, seed, result.wall, draws.x.shape[0])
        return to_inference_data(
            target, draws.x, engine.sample_stats(draws, result.settings),
            warmup.x if run.save_warmup else None,
            engine.sample_stats(warmup, result.settings, warm=True) if run.save_warmup else None,
            engine.save_state(result.state, result.settings), attrs, engine.diagnostics(result))


    def _warn_divergences(self, metropolis, diverging, frozen):
        if metropolis:
            n = int(diverging.sum())
            if n:
                warnings.warn(
                    f"{n} draws followed a proposal with a non-finite log density or gradient "
                    "(rejected; marked in sample_stats.diverging)", RuntimeWarning, stacklevel=4)
        elif frozen.any():
            warnings.warn(
                f"{int(frozen.sum())} of {frozen.size} ULA chains met a non-finite log density or "
                "gradient and were frozen at their last finite point (marked in "
                "sample_stats.diverging); try a smaller step_size", RuntimeWarning, stacklevel=4)

    def _attrs(self, tune, thin, seed, wall_time, n_chains):
        return {
            "sampler": self.name,
            "sampler_settings": _jsonable(self.settings()),
            "seed": str(seed),
            "samplers_version": __version__,
            "sampling_time": float(wall_time),
            "tuning_steps": tune,
            "thin": thin,
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
