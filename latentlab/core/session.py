"""The app's state in one place, without Qt: the model slots, the picked
inputs, ε and the selected group.

:class:`Session` is the only owner of what the window shows; the
:class:`~latentlab.core.workspace.Workspace` changes it through its commands.
Every change bumps :attr:`Session.revision` and the revision of each *scope* it
touches (``"side0"``, ``"side0.model"``, ``"side0.slice"``, ``"selection"``,
``"eps"``, ``"group"``, …) and is announced per field by a psygnal signal. A
result records the stamp of the scopes it was computed from and is current
while that stamp is (:meth:`Session.stamp`): the one stale rule.

Everything here runs on one thread (the GUI's); jobs get copies.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import numpy as np
from psygnal import Signal

from latentlab.core.latent import posterior_samples
from latentlab.core.session_state import (  # re-exported: the session's records
    K_DEFAULT,
    K_MAX,
    SCALE_MAX,
    SIDE_NAMES,
    SIDES,
    EpsState,
    Posterior,
    Selection,
    Side,
    checkpoint_scope,
    default_pair,
    describe,
    epoch_scope,
    model_scope,
    same_data,
    side_scope,
    slice_scope,
    slot_name,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy.typing as npt

    from latentlab.core.data import ImageDataset

__all__ = [
    "K_DEFAULT",
    "K_MAX",
    "SCALE_MAX",
    "SIDES",
    "SIDE_NAMES",
    "EpsState",
    "Posterior",
    "Selection",
    "Session",
    "Side",
    "checkpoint_scope",
    "default_pair",
    "describe",
    "epoch_scope",
    "model_scope",
    "same_data",
    "side_scope",
    "slice_scope",
    "slot_name",
]


class Session:
    """The model slots, the selection and the ε state, with change events.

    Signals (psygnal; callbacks run synchronously on the caller's thread)
    -------
    slotsChanged()
        A slot was added or removed.
    modelChanged(int)
        A slot's model, data, codes or training state is another one.
    sliceChanged(int)
        A slot's shown latent dims or held values changed.
    stateChanged(int)
        A slot's title, saved state or note changed (not its model).
    sideChanged(int)
        Any of the three above, after them (for widgets showing the whole slot).
    selectionChanged()
        The picked inputs changed (or were reset for a new dataset).
    epsChanged()
        ε, K, the μ offset, the σ scales or "fixed" changed.
    groupChanged()
        The group of test images selected in a plane changed (scope ``"group"``).
    epochChanged(int)
        The timeline row a slot's plane shows changed (scope ``"side<n>.epoch"``).
    """

    slotsChanged = Signal()
    modelChanged = Signal(int)
    sliceChanged = Signal(int)
    stateChanged = Signal(int)
    sideChanged = Signal(int)
    selectionChanged = Signal()
    epsChanged = Signal()
    groupChanged = Signal()
    epochChanged = Signal(int)

    def __init__(self, seed: int = 0, slots: int = len(SIDES)) -> None:
        self.sides: list[Side] = [Side() for _ in range(slots)]
        self.selection = Selection()
        self._rng = np.random.default_rng(seed)
        self.eps = self._fresh_eps(K_DEFAULT, 2)
        self.group: frozenset[int] | None = None
        """Test-set indices selected in a plane (rectangle or lasso), or None."""
        self.group_dataset: ImageDataset | None = None
        """The dataset :attr:`group` indexes into."""
        self.eps_slot: int | None = None
        """The VAE chosen for ε (see :meth:`eps_vae`)."""
        self.epochs: dict[int, int] = {}
        """The timeline row each slot's plane shows; absent: the final model."""
        self.revision = 0
        self._scope_revisions: dict[str, int] = {}

    # --- revisions ---------------------------------------------------------------

    def _bump(self, *scopes: str) -> None:
        self.revision += 1
        for scope in scopes:
            self._scope_revisions[scope] = self.revision

    def stamp(self, *scopes: str) -> tuple[int, ...]:
        """The revisions of ``scopes``: equal later only if none of them changed."""
        return tuple(self._scope_revisions.get(s, 0) for s in scopes)

    def is_current(self, scopes: Sequence[str], stamp: Sequence[int]) -> bool:
        """True when nothing in ``scopes`` changed since ``stamp`` was taken."""
        return self.stamp(*scopes) == tuple(stamp)

    def touch(self, *scopes: str) -> None:
        """Mark ``scopes`` changed (a newer request, a new run): every result
        computed from them is stale from now on."""
        self._bump(*scopes)

    def new_run(self) -> None:
        """A training run started or ended: its snapshots' jobs are stale after."""
        self._bump("run")

    # --- sides -------------------------------------------------------------------

    def add_slot(self) -> int:
        """Append an empty slot; returns its index."""
        self.sides.append(Side())
        self._bump("slots")
        self.slotsChanged.emit()
        return len(self.sides) - 1

    def remove_slot(self, slot: int) -> None:
        """Remove ``slot``; the ones after it move up (their results are stale)."""
        if not 0 <= slot < len(self.sides):
            raise IndexError(f"no slot {slot}: there are {len(self.sides)}")
        del self.sides[slot]
        if self.eps_slot is not None:
            s = self.eps_slot
            self.eps_slot = None if s == slot else s - (s > slot)
        self.epochs = {s - (s > slot): e for s, e in self.epochs.items() if s != slot}
        for moved in range(slot, len(self.sides) + 1):
            self._bump(
                side_scope(moved),
                model_scope(moved),
                checkpoint_scope(moved),
                slice_scope(moved),
            )
        self._bump("slots")
        self.slotsChanged.emit()
        self._follow_sides()

    def set_side(self, side: int, state: Side) -> None:
        """Replace what ``side`` holds; announce each field that changed."""
        old = self.sides[side]
        self.sides[side] = state
        new_model = not (
            old.model is state.model
            and old.checkpoint is state.checkpoint
            and old.codes is state.codes
            and old.dataset is state.dataset
            and old.training == state.training  # a snapshot's weights, or final
        )
        new_slice = old.latent_slice != state.latent_slice
        scopes = [side_scope(side)]
        if new_model:
            scopes.append(model_scope(side))
        if old.checkpoint is not state.checkpoint:
            scopes.append(checkpoint_scope(side))
            if self.epochs.pop(side, None) is not None:
                scopes.append(epoch_scope(side))  # another model: its final state
        if new_slice:
            scopes.append(slice_scope(side))
        self._bump(*scopes)
        if new_model:
            self.modelChanged.emit(side)  # a full redraw, its slice included
        elif new_slice:
            self.sliceChanged.emit(side)
        if not new_model and not new_slice:
            self.stateChanged.emit(side)
        self.sideChanged.emit(side)
        self._follow_sides()

    def update_side(self, side: int, **changes: Any) -> Side:
        """Replace some fields of ``side`` (see :class:`Side`); returns the new one."""
        state = dataclasses.replace(self.sides[side], **changes)
        self.set_side(side, state)
        return state

    def role(self, kind: str) -> int | None:
        """The slot showing the ``"vae"`` (the last preferred) or ``"ae"`` (the
        first preferred), with its codes ready; None when no slot does."""
        order = range(len(self.sides))
        for s in reversed(order) if kind == "vae" else order:
            state = self.sides[s]
            if state.ready and state.is_vae == (kind == "vae"):
                return s
        return None

    def eps_vae(self) -> int | None:
        """The VAE whose posterior ε samples: the one chosen
        (:meth:`set_eps_vae`) while it is a ready VAE, else the last VAE."""
        s = self.eps_slot
        if s is not None and s < len(self.sides):
            state = self.sides[s]
            if state.ready and state.is_vae:
                return s
        return self.role("vae")

    def set_eps_vae(self, slot: int | None) -> None:
        """Sample ε for the VAE in ``slot`` (None: the last VAE); ε takes its
        latent size."""
        if slot != self.eps_slot:
            self.eps_slot = slot
            self._set_eps(self._reset(self.eps))  # μ, σ edits were the other VAE's
        self._follow_sides()

    def reference_dataset(self) -> ImageDataset | None:
        """The dataset the picked indices refer to: the VAE's, else the AE's."""
        for kind in ("vae", "ae"):
            s = self.role(kind)
            if s is not None:
                return self.sides[s].dataset
        return None

    def _follow_sides(self) -> None:
        if self.group is not None and not any(
            same_data(state.dataset, self.group_dataset) for state in self.sides
        ):
            self.clear_group()  # no side shows those images any more
        reference = self.reference_dataset()
        if not same_data(self.selection.dataset, reference):
            self.reset_selection(reference)
        vae = self.eps_vae()
        if vae is not None:
            d = self.sides[vae].latent_slice.latent_dim
            if self.eps.eps.shape[1] != d:
                self.eps = self._fresh_eps(self.eps.count, d, fixed=self.eps.fixed)
                self._bump("eps")
                self.epsChanged.emit()

    # --- the timeline ------------------------------------------------------------

    def set_epoch(self, side: int, row: int | None) -> None:
        """Show timeline row ``row`` of ``side``'s model (None or the last row:
        the final model)."""
        tl = self.sides[side].timeline
        if tl is None or row is None or not 0 <= row < tl.count - 1:
            row = None
        if self.epochs.get(side) == row:
            return
        if row is None:
            del self.epochs[side]
        else:
            self.epochs[side] = int(row)
        self._bump(epoch_scope(side))
        self.epochChanged.emit(side)

    def same_run(self, a: int, b: int) -> bool:
        """True when two slots' timelines come from one training run."""
        ta, tb = self.sides[a].timeline, self.sides[b].timeline
        if ta is None or tb is None:
            return False
        return bool(ta.run_id) and ta.run_id == tb.run_id and ta.count == tb.count

    def shown_points(
        self, side: int
    ) -> tuple[npt.NDArray[np.int64] | None, npt.NDArray[np.float32] | None]:
        """What ``side``'s plane plots: test-set indices (None: all, in order)
        and their plane points, at the timeline row shown."""
        state = self.sides[side]
        row, tl = self.epochs.get(side), state.timeline
        if row is not None and tl is not None:
            return tl.indices, state.latent_slice.project(tl.codes_at(row))
        if state.codes is None:
            return None, None
        return None, state.latent_slice.project(state.codes.mu)

    # --- the selected group ------------------------------------------------------

    def set_group(
        self, indices: Sequence[int] | npt.ArrayLike, dataset: ImageDataset | None
    ) -> None:
        """Select test images ``indices`` of ``dataset`` (an empty set clears).

        Indices out of ``dataset``'s test range are dropped.
        """
        if dataset is None:
            self.clear_group()
            return
        n = len(dataset.test_images)
        group = frozenset(
            int(i) for i in np.asarray(indices, np.int64).reshape(-1) if 0 <= i < n
        )
        if not group:
            self.clear_group()
            return
        if group == self.group and same_data(dataset, self.group_dataset):
            return
        self.group = group
        self.group_dataset = dataset
        self._bump("group")
        self.groupChanged.emit()

    def clear_group(self) -> None:
        """Select nothing."""
        if self.group is None:
            return
        self.group = None
        self.group_dataset = None
        self._bump("group")
        self.groupChanged.emit()

    # --- selection ---------------------------------------------------------------

    def reset_selection(self, dataset: ImageDataset | None) -> None:
        """Switch to ``dataset`` with a default pair of different classes."""
        if dataset is None or len(dataset.test_images) == 0:
            self._set_selection(Selection(dataset))
        else:
            a, b = default_pair(dataset)
            self._set_selection(Selection(dataset, current=b, previous=a))

    def pick(self, index: int) -> bool:
        """Make test image ``index`` current; the old current becomes previous.

        Returns False (and changes nothing) for an index out of range or the
        current one.
        """
        sel = self.selection
        if sel.dataset is None or index == sel.current:
            return False
        if not 0 <= index < len(sel.dataset.test_images):
            return False
        self._set_selection(
            Selection(sel.dataset, int(index), sel.current, by_user=True)
        )
        return True

    def pick_pair(self, a: int, b: int) -> None:
        """Set both: ``a`` becomes previous (A), ``b`` current (B)."""
        sel = self.selection
        if sel.dataset is None:
            return
        n = len(sel.dataset.test_images)
        if not (0 <= a < n and 0 <= b < n):
            return
        self._set_selection(Selection(sel.dataset, int(b), int(a), by_user=True))

    def swap(self) -> None:
        """Exchange A and B."""
        sel = self.selection
        if sel.previous is None or sel.current is None:
            return
        self._set_selection(
            Selection(sel.dataset, sel.previous, sel.current, by_user=True)
        )

    def pick_random(self, count: int = 1) -> None:
        """Pick ``count`` (1 or 2) random test images."""
        sel = self.selection
        if sel.dataset is None or len(sel.dataset.test_images) < 2:
            return
        idx = self._rng.choice(len(sel.dataset.test_images), size=2, replace=False)
        if count == 2:
            self.pick_pair(int(idx[0]), int(idx[1]))
        else:
            self.pick(int(idx[0]) if idx[0] != sel.current else int(idx[1]))

    def _set_selection(self, selection: Selection) -> None:
        input_changed = selection.current != self.selection.current or not same_data(
            selection.dataset, self.selection.dataset
        )
        self.selection = selection
        self._bump("selection")
        if input_changed:
            # A new input starts from its encoder's mu and sigma; set before the
            # event, so listeners of either read a consistent state.
            self.eps = self._reset(self.eps)
            self._bump("eps")
        self.selectionChanged.emit()
        if input_changed:
            self.epsChanged.emit()

    # --- ε -----------------------------------------------------------------------

    def _fresh_eps(self, k: int, d: int, fixed: bool = True) -> EpsState:
        return EpsState(
            self._draw(k, d), np.zeros(d, np.float32), np.ones(d, np.float32), fixed
        )

    def _draw(self, k: int, d: int) -> npt.NDArray[np.float32]:
        return self._rng.standard_normal((k, d), dtype=np.float32)

    def _set_eps(self, state: EpsState) -> None:
        moved = not (
            np.array_equal(state.offset, self.eps.offset)
            and np.array_equal(state.scale, self.eps.scale)
        )
        self.eps = state
        # "eps.point": where μ and σ are, without the draw of ε itself.
        self._bump("eps", "eps.point") if moved else self._bump("eps")
        self.epsChanged.emit()

    def _noise_for_change(self) -> npt.NDArray[np.float32]:
        """ε after μ or σ moved: the same draw when fixed, a new one otherwise."""
        e = self.eps.eps
        return e if self.eps.fixed else self._draw(*e.shape)

    def posterior(self, slot: int | None = None) -> Posterior | None:
        """The picked input's posterior in the VAE of ``slot`` (None: the
        last VAE), or None (no VAE, no input, or the input encodes to NaN or
        infinity)."""
        side = self.eps_vae() if slot is None else slot
        if side is not None and not (
            0 <= side < len(self.sides) and self.sides[side].ready
        ):
            return None
        index = self.selection.current
        if side is None or index is None:
            return None
        state = self.sides[side]
        if state.codes.sigma is None or not same_data(
            state.dataset, self.selection.dataset
        ):
            return None
        if not 0 <= index < len(state.codes.mu):
            return None
        mu0 = state.codes.mu[index].astype(np.float32)
        sigma0 = state.codes.sigma[index].astype(np.float32)
        if not (np.isfinite(mu0).all() and np.isfinite(sigma0).all()):
            return None
        e = self.eps
        if e.eps.shape[1] != len(mu0):
            return None
        samples = posterior_samples(mu0 + e.offset, sigma0, e.eps, e.scale)
        return Posterior(side, int(index), mu0.copy(), sigma0.copy(), samples)

    def move_mu(self, mu: npt.ArrayLike) -> None:
        """Put μ at ``mu`` ``(d,)``; σ, and ε when fixed, stay."""
        post = self.posterior()
        if post is None:
            return
        offset = np.asarray(mu, np.float32).reshape(-1) - post.mu0
        self._set_eps(
            dataclasses.replace(self.eps, offset=offset, eps=self._noise_for_change())
        )

    def set_sigma_scale(self, dim: int, k: float) -> None:
        """Multiply σ along latent ``dim`` by ``k`` (0 to :data:`SCALE_MAX`)."""
        scale = self.eps.scale.copy()
        if not 0 <= dim < len(scale):
            return
        scale[dim] = float(np.clip(k, 0.0, SCALE_MAX))
        if np.array_equal(scale, self.eps.scale):
            return
        self._set_eps(
            dataclasses.replace(self.eps, scale=scale, eps=self._noise_for_change())
        )

    def set_count(self, k: int) -> None:
        """Use ``k`` samples; existing ε rows are kept, new ones drawn."""
        k = int(np.clip(k, 1, K_MAX))
        e = self.eps.eps
        if k == len(e):
            return
        if k > len(e):
            e = np.concatenate([e, self._draw(k - len(e), e.shape[1])])
        else:
            e = e[:k].copy()
        self._set_eps(dataclasses.replace(self.eps, eps=e))

    def resample_eps(self) -> None:
        """Draw fresh ε; μ and σ are untouched."""
        self._set_eps(
            dataclasses.replace(self.eps, eps=self._draw(*self.eps.eps.shape))
        )

    def set_eps_fixed(self, fixed: bool) -> None:
        """Keep ε while μ and σ change (True), or redraw it at every change."""
        if bool(fixed) != self.eps.fixed:
            self._set_eps(dataclasses.replace(self.eps, fixed=bool(fixed)))

    def reset_eps(self) -> None:
        """μ back to μ(x), σ scales back to 1."""
        self._set_eps(self._reset(self.eps))

    @staticmethod
    def _reset(state: EpsState) -> EpsState:
        d = state.eps.shape[1]
        return dataclasses.replace(
            state, offset=np.zeros(d, np.float32), scale=np.ones(d, np.float32)
        )
