"""The ``Sampler`` interface shared by every sampler of the package.

A sampler is configured at construction (step size, Metropolis correction,
ladder, ...) and run by :meth:`Sampler.sample`.  This module holds what every
sampler does the same way: validating the arguments, turning ``rng`` into
per-chain streams, choosing initial points, and the run's attributes.
"""
import json
import warnings

import numpy as np

from . import __version__, engine as driver
from ._checks import check_count
from ._rng import chain_keys, make_seed
from .inference_data import to_inference_data
from .targets import Target

__all__ = ["Sampler"]


class Sampler:
    """Base class: ``sample(target, draws, *, tune, chains, rng, ...)`` -> ``InferenceData``."""

    #: Name recorded in the output's attributes.
    name = "Sampler"

    def settings(self):
        """The constructor arguments, as recorded in the output's attributes."""
        raise NotImplementedError

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
        tune = check_count(self.default_tune(target) if tune is None else tune, "tune", minimum=0)
        chains = check_count(chains, "chains")
        thin = check_count(thin, "thin")
        seed = make_seed(rng)
        x0 = self._initial(target, initial, chains, seed)
        run = dict(draws=draws, tune=tune, thin=thin, save_warmup=bool(save_warmup), seed=seed)
        return self._execute(target, x0, chain_keys(seed, chains), run, None, progressbar)

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
        run = dict(draws=draws, tune=0, thin=thin, save_warmup=False, seed=int(attrs["seed"]))
        x0 = np.ascontiguousarray(saved["x"][:, -1])
        return self._execute(target, x0, saved["keys"].astype(np.uint64), run, saved, progressbar)

    # -- the run, shared by every sampler ------------------------------------------------------
    # A subclass sets the class attributes below and may override the hooks
    # _ladder, _tuning_rounds, _start, _between_rounds and _diagnostics.

    #: Replicas per chain: one (Langevin, simulated tempering) or one per level.
    replica_per_level = False
    #: ``driver.NO_COMMUNICATION``, ``LEVEL_MOVES``, ``SWAPS_DEO`` or ``SWAPS_SEO``.
    communication = driver.NO_COMMUNICATION
    step_size = None
    metropolis = False
    target_accept = 0.574
    steps_per_swap = 1
    lifted = True
    adapt_weights = False
    #: k > 0: a random orthogonal move X -> X O (O in O(k)) after every transition.
    symmetry_rank = 0

    def _ladder(self, target):
        """Inverse temperatures, increasing to 1."""
        return np.ones(1)

    def _tuning_rounds(self, tune):
        """Run steps at which tuning rounds end (the last is ``tune``)."""
        return [tune] if tune > 0 else []

    def default_tune(self, target):
        """Warm-up steps when ``sample`` is called with ``tune=None``."""
        return 1000

    def _fixed_step_size(self, target, x0):
        """The step size of a fresh run, or ``None`` to tune it during warm-up."""
        return self.step_size

    def _symmetry_rank(self, target):
        """``k`` for symmetry moves X -> X O on a (d, k) target; 0 for none."""
        return self.symmetry_rank

    def _start(self, target, state, settings):
        """Set up a fresh state once the initial log densities are known; return the settings."""
        return settings

    def _between_rounds(self, state, settings, acc, last):
        """Adapt after a tuning round; return the settings for what follows."""
        return settings

    def _diagnostics(self, state, settings, acc):
        """A dict of run diagnostics for the output (empty for plain Langevin)."""
        return None

    def _execute(self, target, x0, keys, run, saved, progressbar):
        n_chains, dim = x0.shape
        draws, tune, thin = run["draws"], run["tune"], run["thin"]
        betas = saved["betas"][0].copy() if saved is not None else self._ladder(target)
        n_levels = betas.shape[0]
        n_replicas = n_levels if self.replica_per_level else 1
        step_size = None if saved is not None else self._fixed_step_size(target, x0)
        adapt_step = saved is None and step_size is None
        if adapt_step and tune == 0:
            raise ValueError("step_size=None is tuned during warm-up: give tune > 0 or a step_size")
        if saved is not None:
            state = driver.restore_state(saved)
        else:
            state = driver.new_state(x0, keys, n_replicas, n_levels)
            if step_size is not None:
                state.step_size[:] = step_size
        settings = driver.Settings(
            betas=np.ascontiguousarray(betas, dtype=np.float64), metropolis=self.metropolis,
            adapt_step=adapt_step, target_accept=self.target_accept,
            adapt_weights=bool(self.adapt_weights and saved is None),
            communication=self.communication, lifted=self.lifted,
            steps_per_swap=self.steps_per_swap, max_level=n_levels - 1, n_tune=tune, draws=draws,
            thin=thin, stop_step=tune, round_first=0, round_len=max(tune, 1),
            symmetry_rank=self._symmetry_rank(target))
        if saved is None:
            # A continuation keeps the saved log densities and gradients:
            # evaluating them again could differ in the last bit (a batched
            # target's BLAS sums in another order) and change the draws.
            driver.initialize_state(target, state, settings, adapt_step)
        bad = ~(np.isfinite(state.lp) & np.all(np.isfinite(state.grad), axis=2)).all(axis=1)
        if np.any(bad):
            raise ValueError(
                f"initial: the log density or its gradient is not finite at the initial point "
                f"of chain(s) {np.flatnonzero(bad).tolist()}"
            )
        if saved is None:
            settings = self._start(target, state, settings)

        n_warm = tune // thin if run["save_warmup"] else 0
        rec = driver.new_records(n_chains, draws, n_warm, dim)
        bar = None
        if progressbar:
            from tqdm.auto import tqdm

            bar = tqdm(total=tune + draws, desc=self.name, unit="step", leave=True)
        wall = 0.0
        try:
            first = 0
            for stop in self._tuning_rounds(tune):
                acc = driver.new_accumulators(n_chains, n_levels)
                settings = settings._replace(stop_step=stop, round_first=first, round_len=stop - first)
                wall += driver.drive(target, state, settings, acc, rec, bar)
                settings = self._between_rounds(state, settings, acc, stop == tune)
                first = stop
            trace_len = draws * n_levels if self.communication == driver.LEVEL_MOVES else 0
            acc = driver.new_accumulators(n_chains, n_levels, trace_len)
            settings = settings._replace(stop_step=np.iinfo(np.int64).max, round_first=tune,
                                         round_len=1)
            max_steps = tune + draws * thin * max(50, 10 * n_levels)
            wall += driver.drive(target, state, settings, acc, rec, bar, max_steps)
        finally:
            if bar is not None:
                bar.close()

        self._warn_divergences(rec.draws.diverging, state.frozen)
        return to_inference_data(
            target, rec.draws.x, self._stats(rec.draws, warm=False),
            rec.warmup.x if run["save_warmup"] else None,
            self._stats(rec.warmup, warm=True) if run["save_warmup"] else None,
            driver.save_state(state, settings), self._attrs(run, wall, n_chains),
            self._diagnostics(state, settings, acc))

    def _stats(self, block, warm):
        """``sample_stats`` of the draws (or of the warm-up) from their record."""
        stats = {"lp": block.lp, "diverging": block.diverging, "step_size": block.step_size}
        if self.metropolis:
            stats["acceptance_rate"] = block.accept
        if self.communication == driver.LEVEL_MOVES:
            stats["level" if warm else "n_steps"] = block.level if warm else block.n_steps
        return stats

    def _warn_divergences(self, diverging, frozen):
        if self.metropolis:
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

    def _attrs(self, run, wall_time, n_chains):
        return {
            "sampler": self.name,
            "sampler_settings": _jsonable(self.settings()),
            "seed": str(run["seed"]),
            "samplers_version": __version__,
            "sampling_time": float(wall_time),
            "tuning_steps": run["tune"],
            "thin": run["thin"],
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
