"""What a view needs, which slots it compares, and the analyses the workspace
runs for it: each result is stored with the inputs it declared
(:meth:`~latentlab.core.workspace.Workspace.compute`).

A view names its needs with :data:`NEEDS` words: ``"vae"`` (a variational
model), ``"ae"`` (a plain autoencoder) or ``"model"`` (either). The user may
choose the slots (:meth:`WorkspaceAnalyses.choose`); otherwise the first AE and
the last VAE are used, so the window still opens comparing an AE with a VAE.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from latentlab.core.session import (
    checkpoint_scope,
    model_scope,
    same_data,
    side_scope,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    import numpy.typing as npt

    from latentlab.core.session import Side

NEEDS = {"vae": "a VAE", "ae": "an autoencoder (AE)", "model": "a model"}
EPS_VIEW = "eps"  # its VAE is the one ε is drawn for


def fits(state: Side, need: str) -> bool:
    """True when a ready slot ``state`` can serve ``need``."""
    if not state.ready:
        return False
    return need == "model" or state.is_vae == (need == "vae")


class WorkspaceAnalyses:
    """Slot choice and analysis commands of a
    :class:`~latentlab.core.workspace.Workspace`."""

    def _init_analyses(self) -> None:
        self.chosen: dict[str, tuple[int | None, ...]] = {}
        """Slots the user chose per view (key), one per need."""

    def choose(self, view: str, slots: Sequence[int | None] | None) -> None:
        """Let ``view`` compare ``slots`` (one per need; None: the default).

        The ε view's VAE is the session's: ε is drawn for it, and the
        Gradient path differentiates the same samples.
        """
        if slots is None:
            self.chosen.pop(view, None)
        else:  # None in a place: that need takes its default
            self.chosen[view] = tuple(None if s is None else int(s) for s in slots)
        self.session.touch(f"choice:{view}")
        if view == EPS_VIEW:
            first = None if not slots else slots[0]
            self.session.set_eps_vae(None if first is None else int(first))

    def _forget_slot(self, slot: int) -> None:
        """A slot was removed: the choices of the slots after it move up."""
        for view, chosen in list(self.chosen.items()):
            if slot in chosen:
                del self.chosen[view]
            else:
                self.chosen[view] = tuple(
                    None if s is None else s - (s > slot) for s in chosen
                )
            self.session.touch(f"choice:{view}")

    def slots_for(
        self, view: str, needs: Sequence[str], prefers: Sequence[str] = ()
    ) -> list[int | None]:
        """The slot serving each of ``needs`` for ``view``: the user's choice
        where it still fits, else the first AE / the last VAE / the first
        model not used yet (of the kind in ``prefers`` at that position, when
        one is there); None where none fits.

        Example
        -------
        >>> ws.slots_for("eps", ("vae",))  # doctest: +SKIP
        [1]
        """
        sides = self.session.sides
        chosen = self.chosen.get(view, ())
        out: list[int | None] = []
        for i, need in enumerate(needs):
            pick = chosen[i] if i < len(chosen) else None
            if pick is not None and pick < len(sides) and fits(sides[pick], need):
                out.append(pick)
                continue
            wanted = [need]
            if need == "model" and i < len(prefers):
                wanted.insert(0, prefers[i])
            for kind in wanted:
                order = list(range(len(sides)))
                if kind == "vae":
                    order.reverse()
                free = [s for s in order if s not in out and fits(sides[s], kind)]
                if free:
                    out.append(free[0])
                    break
            else:
                out.append(None)
        return out

    def _pair(
        self, slots: Sequence[int] | None, view: str = "interpolation"
    ) -> tuple[int, int]:
        if slots is None:
            a, b = self.slots_for(view, ("model", "model"), ("ae", "vae"))
        else:
            a, b = slots
        if a is None or b is None:
            raise self._missing("two models with their test sets")
        return a, b

    def _picks(self, a_slot: int, b_slot: int):
        """The selection and its data, when two inputs are picked from the data
        of both slots' models."""
        sel = self.session.selection
        data = sel.dataset
        if sel.previous is None or sel.current is None:
            raise self._missing("two picked inputs")
        if not all(same_data(data, self.slots[s].dataset) for s in (a_slot, b_slot)):
            raise self._missing("two models of the data the inputs were picked from")
        return sel, data

    def _vae(self, slot: int | None) -> int:
        if slot is None:
            slot = self.session.eps_vae()
        if slot is None:
            raise self._missing("a VAE with its test set")
        return slot

    @staticmethod
    def _missing(what: str) -> Exception:
        from latentlab.core.errors import LatentLabError

        return LatentLabError(f"this analysis needs {what}: open or train one first")

    # --- interpolation -----------------------------------------------------------

    def interpolate(
        self,
        steps: int = 12,
        *,
        slots: Sequence[int] | None = None,
        names: Sequence[str] = ("AE", "VAE"),
        **callbacks: Callable[..., Any],
    ) -> str:
        """Decode the straight path between the picked inputs' codes (A → B)
        in two slots; the result (``list[StripResult]``) is stored under
        ``"interpolation.strips"``, which is returned."""
        from latentlab.core.analysis.interpolation import interpolation_strips

        a_slot, b_slot = self._pair(slots)
        sel, data = self._picks(a_slot, b_slot)
        key = "interpolation.strips"
        self.compute(
            key,
            interpolation_strips,
            [
                (n, self.slots[s].model)
                for n, s in zip(names, (a_slot, b_slot), strict=True)
            ],
            data.test_images[sel.previous],
            data.test_images[sel.current],
            steps,
            data.train_images,
            inputs=(
                side_scope(a_slot),
                side_scope(b_slot),
                "selection",
                "choice:interpolation",  # results are of the slots chosen then
            ),
            **callbacks,
        )
        return key

    def rectangle(
        self,
        n: int = 8,
        *,
        slots: Sequence[int] | None = None,
        names: Sequence[str] = ("AE", "VAE"),
        **callbacks: Callable[..., Any],
    ) -> str:
        """The article's figure: decode the ``n × n`` grid over the rectangle
        the picked inputs' codes (A, B) span in each model's two shown dims,
        each cell tested for looking like data; the grids and the test's
        yardstick (:func:`~latentlab.core.analysis.rectangle.rectangle_grids`)
        go under ``"rectangle.grids"``, which is returned.

        >>> ws.pick_pair(0, 100)                     # doctest: +SKIP
        >>> grids, yardstick = ws.result(ws.rectangle()).value  # doctest: +SKIP
        """
        from latentlab.core.analysis.rectangle import rectangle_grids

        a_slot, b_slot = self._pair(slots, "rectangle")
        sel, data = self._picks(a_slot, b_slot)
        entries = []
        for name, s in zip(names, (a_slot, b_slot), strict=True):
            state = self.slots[s]
            mu = state.codes.mu
            dims = tuple(int(d) for d in state.latent_slice.dims)
            entries.append((name, state.model, mu[sel.previous], mu[sel.current], dims))
        key = "rectangle.grids"
        self.compute(
            key,
            rectangle_grids,
            entries,
            data,
            n,
            inputs=(
                side_scope(a_slot),
                side_scope(b_slot),
                "selection",
                "choice:rectangle",
            ),
            **callbacks,
        )
        return key

    def train_without_trick(
        self,
        epochs: int = 3,
        *,
        slot: int | None = None,
        **callbacks: Callable[..., Any],
    ) -> str:
        """Claim (2) in training: a VAE like ``slot``'s (the ε tab's VAE by
        default), trained from one start on its data with and without the
        trick (:func:`~latentlab.core.analysis.without_trick.train_without_trick`);
        its progress goes to ``on_progress``, the curves under
        ``"gradient.trick"``, which is returned."""
        from latentlab.core.analysis.without_trick import train_without_trick

        slot = self._vae(slot)
        state = self.slots[slot]
        cfg = state.model.config
        hidden = cfg.hidden if cfg.backbone == "mlp" else (512, 256)
        key = "gradient.trick"
        self.compute(
            key,
            train_without_trick,
            state.dataset,
            epochs=epochs,
            latent_dim=cfg.latent_dim,
            hidden=hidden,
            # The model, not the slot's view: a new plane or a save keeps it.
            inputs=(model_scope(slot),),
            **callbacks,
        )
        return key

    def seed_study(
        self,
        seeds: int = 5,
        epochs: int = 10,
        n_pairs: int = 200,
        *,
        slots: Sequence[int] | None = None,
        cache_dir: str | None = None,
        **callbacks: Callable[..., Any],
    ) -> str:
        """Claim (1) over AE/VAE pairs trained from ``seeds`` seeds on the data
        of the interpolation's models (2-D MLPs, cached: ``cache_dir``, else
        ``$XDG_CACHE_HOME/latentlab/seed-pairs``); progress ``(seed index,
        fraction)`` goes to ``on_progress``, the
        :class:`~latentlab.core.analysis.seed_study.SeedStudy` under
        ``"interpolation.seeds"``, which is returned."""
        from latentlab.core.analysis.seed_study import default_cache, seed_study

        _, b_slot = self._pair(slots)
        key = "interpolation.seeds"
        self.compute(
            key,
            seed_study,
            self.slots[b_slot].dataset,
            seeds=tuple(range(int(seeds))),
            epochs=epochs,
            n_pairs=n_pairs,
            cache_dir=cache_dir or default_cache(),
            inputs=(model_scope(b_slot),),
            **callbacks,
        )
        return key

    def measure_pairs(
        self,
        n_pairs: int = 200,
        steps: int = 12,
        seed: int = 0,
        *,
        slots: Sequence[int] | None = None,
        names: Sequence[str] = ("AE", "VAE"),
        **callbacks: Callable[..., Any],
    ) -> str:
        """Interpolate ``n_pairs`` random test pairs in two slots; the
        :class:`~latentlab.core.analysis.pair_statistics.ManyPairs` goes under
        ``"interpolation.pairs"``, which is returned."""
        from latentlab.core.analysis.pair_statistics import many_pairs

        a_slot, b_slot = self._pair(slots)
        key = "interpolation.pairs"
        self.compute(
            key,
            many_pairs,
            [
                (n, self.slots[s].model)
                for n, s in zip(names, (a_slot, b_slot), strict=True)
            ],
            self.slots[b_slot].dataset,
            n_pairs=n_pairs,
            steps=steps,
            seed=seed,
            inputs=(model_scope(a_slot), model_scope(b_slot), "choice:interpolation"),
            **callbacks,
        )
        return key

    # --- the gradient path -------------------------------------------------------

    def gradient_table(
        self, *, slot: int | None = None, **callbacks: Callable[..., Any]
    ) -> str:
        """Per-sample pathwise gradients for the picked input's current μ, σ
        and ε in a VAE (``"gradient.table"``)."""
        from latentlab.core.analysis.gradient import gradient_table

        slot = self._vae(slot)
        post = self._posterior(slot)
        state, s = self.slots[slot], post.samples
        key = "gradient.table"
        self.compute(
            key,
            gradient_table,
            state.model,
            state.dataset,
            post.index,
            s.mu,
            s.sigma,
            s.eps,
            inputs=(side_scope(slot), "selection", "eps", f"choice:{EPS_VIEW}"),
            **callbacks,
        )
        return key

    def measure_gradient(
        self,
        seed: int = 0,
        repeats: int = 20,
        *,
        slot: int | None = None,
        mu: npt.ArrayLike | None = None,
        sigma: npt.ArrayLike | None = None,
        **callbacks: Callable[..., Any],
    ) -> str:
        """Both estimators' variances for the picked input in a VAE, over
        ``repeats`` fresh noise draws (``"gradient.variance"``), at ``mu``,
        ``sigma`` (by default where the ε tab put them). The result stays
        current through the snapshots of a training run (it says it is of a
        snapshot) and a new draw of ε, not through another model, input, μ or
        σ."""
        from latentlab.core.analysis.gradient import measure_variances

        slot = self._vae(slot)
        post = self._posterior(slot)
        state = self.slots[slot]
        inputs = (
            checkpoint_scope(slot),
            "selection",
            "eps.point",
            f"choice:{EPS_VIEW}",
        )
        key = "gradient.variance"
        self.compute(
            key,
            measure_variances,
            state.model,
            state.dataset,
            post.index,
            seed,
            repeats,
            mu=np.asarray(post.samples.mu if mu is None else mu, np.float32).copy(),
            sigma=np.asarray(
                post.samples.sigma if sigma is None else sigma, np.float32
            ).copy(),
            inputs=inputs,
            **callbacks,
        )
        return key

    def _posterior(self, slot: int) -> Any:
        post = self.session.posterior(slot)
        if post is None:
            raise self._missing("a picked input whose code is finite")
        return post
