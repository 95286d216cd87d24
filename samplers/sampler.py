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

import numpy as np

from . import __version__, convergence, engine
from ._checks import check_bool, check_count, check_real_array
from ._rng import chain_keys, make_seed
from .inference_data import SAMPLER_STATE, RunAttr, run_attrs, to_inference_data
from .targets import Target

#: Fresh default initial points drawn for a chain whose first lands outside the support
#: (log p = -inf) or where the density is not finite, before giving up (as PyMC does).
INITIAL_ATTEMPTS = 100

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
               thin=1, progressbar=True, save_warmup=False, check_convergence=True):
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
            Initial points; by default drawn by ``target.default_initial``,
            drawn again (up to ``INITIAL_ATTEMPTS`` times) for a chain whose
            point is outside the support or where the density is not finite.
        thin : int
            Keep one state in ``thin``.
        progressbar : bool
        save_warmup : bool
            Also return the warm-up as ``warmup_posterior``.
        check_convergence : bool
            After the run, check R-hat and the bulk and tail ESS
            (``samplers.convergence``) and warn.  Divergences and frozen chains
            are reported whatever this says.

        Returns
        -------
        arviz.InferenceData

        A user's own ``Target`` is checked at the initial points first
        (``Target.validate``: every gradient entry written, the gradient equal
        to finite differences of log p).
        """
        self._check_target(target)
        draws = check_count(draws, "draws")
        tune = self._tune(target, tune)
        chains = check_count(chains, "chains")
        thin = check_count(thin, "thin")
        progressbar = check_bool(progressbar, "progressbar")
        save_warmup = check_bool(save_warmup, "save_warmup")
        check_convergence = check_bool(check_convergence, "check_convergence")
        seed = make_seed(rng)
        x0 = self._initial(target, initial, chains, seed)
        if type(target) is Target:
            target.validate(x0)
        plan = self.plan(target, tune, initial=x0)
        run = engine.RunArgs(draws=draws, thin=thin, save_warmup=save_warmup)
        start = engine.fresh_start(target, plan, x0, chain_keys(seed, chains), run)
        return self._execute(target, plan, start, run, seed, progressbar, check_convergence)

    def resume(self, idata, target, draws=1000, *, thin=1, progressbar=True,
               check_convergence=True):
        """Continue a finished run by ``draws`` more draws, without tuning.

        The result holds only the new draws; joined to the first part with
        ``samplers.concat(idata, more)`` they are bit-identical to one run of
        the combined length with the same seed and ``thin``.  ``idata`` may
        have been saved to NetCDF and loaded back.  Run diagnostics (swap
        rates, log Z) of the result cover the continuation only; ``concat``
        pools them.  ``target`` must be the run's target: its fingerprint
        (``Target.fingerprint``: function, shape, params) is recorded with the
        run and compared.
        """
        self._check_target(target)
        draws = check_count(draws, "draws")
        thin = check_count(thin, "thin")
        progressbar = check_bool(progressbar, "progressbar")
        check_convergence = check_bool(check_convergence, "check_convergence")
        if SAMPLER_STATE not in idata.groups():
            raise ValueError("idata has no sampler_state group: it was not made by samplers")
        state = idata[SAMPLER_STATE]
        attrs = run_attrs(state)
        if attrs.get(RunAttr.SAMPLER) != self.name or attrs.get(RunAttr.SAMPLER_SETTINGS) != _jsonable(
                self.settings()):
            raise ValueError(
                f"idata was made by {attrs.get(RunAttr.SAMPLER)} with settings "
                f"{attrs.get(RunAttr.SAMPLER_SETTINGS)}; resume it with the same sampler and settings"
            )
        saved = {k: np.array(state[k].values) for k in state.data_vars}
        if saved["x"].shape[-1] != target.dim:
            raise ValueError(f"idata has positions of dim {saved['x'].shape[-1]}, "
                             f"target has dim {target.dim}")
        recorded = attrs.get(RunAttr.TARGET)
        if recorded is not None and recorded != target.fingerprint():
            raise ValueError(
                "target is not the target of this run (its function, shape or params differ: "
                f"fingerprint {target.fingerprint()} against the run's {recorded}); resume a run "
                "with the target it sampled")
        run = engine.RunArgs(draws=draws, thin=thin, save_warmup=False)
        plan = self.plan(target, initial=saved["x"][:, -1]).continuation(saved["betas"][0])
        start = engine.resumed_start(plan, saved, run)
        return self._execute(target, plan, start, run, attrs[RunAttr.SEED], progressbar,
                             check_convergence)

    def _execute(self, target, plan, start, run, seed, progressbar, check):
        """Run ``plan`` from ``start``; the result as ``InferenceData``, after the
        convergence checks (one ``ConvergenceWarning`` listing every problem)."""
        result = engine.run(target, plan, start, run, self.name if progressbar else None)
        draws, warmup = result.records
        attrs = self._attrs(target, plan.tune, run.thin, seed, result.wall, draws.x.shape[0])
        diagnostics = engine.diagnostics(result)
        if diagnostics is not None and plan.adaptation is not None:
            diagnostics.update(plan.adaptation.diagnostics(draws.x))
        idata = to_inference_data(
            target, draws.x, engine.sample_stats(draws, result.settings),
            warmup.x if run.save_warmup else None,
            engine.sample_stats(warmup, result.settings, warm=True) if run.save_warmup else None,
            engine.save_state(result.state, result.settings), attrs, diagnostics)
        problems = []
        if not result.settings.metropolis and result.state.frozen.any():
            frozen = result.state.frozen
            problems.append(
                f"{int(frozen.sum())} of {frozen.size} ULA chains diverged (a non-finite log density "
                "or gradient, or a step far beyond the discretisation's accuracy) and were frozen "
                "at their last point, their later draws marked diverging: give a smaller step_size")
        convergence.warn_convergence(idata, stacklevel=3, problems=problems, label=self.name,
                                     rhat_and_ess=check)
        self._warn_after_run(target, idata, draws.x)
        return idata

    def _warn_after_run(self, target, idata, draws):
        """A subclass's own warnings about a finished run (``draws``: its flat draws
        ``(C, n, d)``; ``stacklevel=4`` reaches the caller of ``sample`` or ``resume``);
        none here."""

    def _attrs(self, target, tune, thin, seed, wall_time, n_chains):
        return {
            RunAttr.SAMPLER: self.name,
            RunAttr.SAMPLER_SETTINGS: _jsonable(self.settings()),
            RunAttr.SEED: str(seed),
            RunAttr.SAMPLERS_VERSION: __version__,
            RunAttr.SAMPLING_TIME: float(wall_time),
            RunAttr.TUNING_STEPS: tune,
            RunAttr.THIN: thin,
            RunAttr.CHAINS: n_chains,
            RunAttr.TARGET: target.fingerprint(),
        }

    @staticmethod
    def _check_target(target):
        if not isinstance(target, Target):
            raise TypeError(f"target must be a samplers.Target, got {type(target).__name__}")

    @staticmethod
    def _initial(target, initial, chains, seed):
        """Initial points ``(chains, dim)``: validated user points or the target's default.

        A default point where log p or its gradient is not finite (outside the
        support, say) is drawn again from the chain's own stream, up to
        ``INITIAL_ATTEMPTS`` times; only then is it an error.
        """
        if initial is None:
            rows = []
            for c in range(chains):
                rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(c, 0)))
                for _ in range(INITIAL_ATTEMPTS):
                    x = np.asarray(target.default_initial(rng), dtype=np.float64).reshape(-1)
                    with np.errstate(all="ignore"):
                        value, grad = target.logp_and_grad(x)
                    if np.isfinite(value) and np.all(np.isfinite(grad)):
                        break
                else:
                    raise ValueError(
                        f"initial: log p or its gradient was not finite at {INITIAL_ATTEMPTS} default "
                        f"initial points of chain {c} (target.default_initial): give initial points "
                        "inside the support")
                rows.append(x)
            x0 = np.array(rows)
        else:
            x0 = np.array(check_real_array(initial, "initial"), dtype=np.float64)
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
