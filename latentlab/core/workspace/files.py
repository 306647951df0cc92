"""Opening, saving and exporting: the file commands of a
:class:`~latentlab.core.workspace.Workspace`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from latentlab.core.analysis.planes import (
    Prepared,
    load_and_prepare,
    prepare,
    prepare_with,
)
from latentlab.core.errors import LatentLabError
from latentlab.core.session import Side, slot_name

if TYPE_CHECKING:
    import os
    from collections.abc import Sequence

    from latentlab.core.checkpoints import Checkpoint
    from latentlab.core.data import ImageDataset


class WorkspaceFiles:
    """Checkpoints in and out of the slots, and the codes as CSV."""

    def open(self, path: str | os.PathLike[str], slot: int | None = None) -> int:
        """Open a checkpoint into ``slot`` (None: the first empty slot).

        The slot keeps its current model until the new one is ready; a bad
        file is reported (scripts: raised) and changes nothing. Returns the slot.
        """
        slot = self._slot(slot)
        name = Path(path).name
        self.status.emit(f"Loading {name}…")
        self.submit(
            f"load{slot}",
            load_and_prepare,
            str(path),
            self.data_dir,
            self.datasets,
            inputs=("run",),
            on_result=lambda prepared: self._on_file_loaded(slot, prepared),
            on_error=lambda exc: self._fail(f"Could not open {name}", exc),
        )
        return slot

    def _on_file_loaded(self, slot: int, prepared: Prepared) -> None:
        if prepared.checkpoint.needs_dataset and self.asks_dataset:
            self.datasetNeeded.emit(slot, prepared.checkpoint)
            return
        self._install(slot, prepared, unsaved=False)

    def use_dataset(self, slot: int, checkpoint: Checkpoint, name: str | None) -> None:
        """Show a model trained elsewhere with the test set of dataset ``name``
        (None: without a test set; it still decodes)."""
        if name:
            checkpoint.dataset = {"name": name}
        self.show_checkpoint(slot, checkpoint, unsaved=False)

    def show_checkpoint(
        self, slot: int, checkpoint: Checkpoint, *, unsaved: bool = False
    ) -> None:
        """Show an in-memory checkpoint in ``slot`` (its data prepared as a job)."""
        self.submit(
            f"load{slot}",
            prepare,
            checkpoint,
            self.data_dir,
            self.datasets,
            inputs=("run",),
            allow_folder_scan=True,  # trained or made here: the user chose its data
            on_result=lambda prepared: self._install(slot, prepared, unsaved=unsaved),
            on_error=lambda exc: self._fail("Could not show the model", exc),
        )

    def show_model(
        self,
        model: Any,
        images: Any = None,
        labels: Any = None,
        *,
        slot: int | None = None,
        name: str | None = None,
        class_names: Sequence[str] | None = None,
    ) -> int:
        """Show a model from Python in ``slot`` (None: the first empty one),
        with ``images`` as its test set; returns the slot.

        ``model`` is a :func:`latentlab.wrap` result, LatentLab's own model, or
        any module :func:`~latentlab.core.wrap.wrap` understands without
        arguments (``images`` give it its image shape). ``images``: ``(N, C,
        H, W)`` or ``(N, H, W)`` (uint8, or floats in the model's pixel
        range) or a torch ``Dataset``; ``labels`` colour the points. The
        images are checked here, before any work; encoding them is a job.

        Example
        -------
        >>> ws.show_model(latentlab.wrap(vae), images=x_test)   # doctest: +SKIP
        0
        """
        from latentlab.core.checkpoints import Checkpoint
        from latentlab.core.data import ImageDataset
        from latentlab.core.datasets.arrays import dataset_from_arrays
        from latentlab.core.wrap import as_latent_model

        model = as_latent_model(model, images)
        dataset = images if isinstance(images, ImageDataset) else None
        if images is not None and dataset is None:
            dataset = dataset_from_arrays(
                images,
                labels,
                value_range=getattr(model, "module_range", (0.0, 1.0)),
                name=name or "images given",
                class_names=tuple(class_names) if class_names else None,
            )
        if dataset is not None and dataset.image_shape != tuple(model.image_shape):
            raise LatentLabError(
                f"the images are {dataset.image_shape} (C, H, W); the model "
                f"reads {tuple(model.image_shape)}"
            )
        slot = self._slot(slot)
        checkpoint = Checkpoint(
            model=model,
            origin=getattr(model, "name", ""),  # LatentLab's own: its config says
            dataset={"name": dataset.name} if dataset is not None else {},
        )
        self.submit(
            f"load{slot}",
            prepare_with,
            checkpoint,
            dataset,
            inputs=("run",),
            on_result=lambda prepared: self._install(slot, prepared, unsaved=False),
            on_error=lambda exc: self._fail("Could not show the model", exc),
        )
        return slot

    def _install(self, slot: int, prepared: Prepared, *, unsaved: bool) -> None:
        if self.slots[slot].training:
            return  # training owns this slot now; the load lost the race
        ckpt = prepared.checkpoint
        self._grid_wanted.pop(slot, None)  # the plane asks again for the new model
        self.session.set_side(
            slot,
            Side(
                checkpoint=ckpt,
                model=ckpt.model,
                dataset=prepared.dataset,
                codes=prepared.codes,
                latent_slice=prepared.latent_slice,
                unsaved=unsaved,
                note=prepared.note,
            ),
        )
        name = ckpt.path.name if ckpt.path else "model"
        self.status.emit(
            f"{slot_name(slot).capitalize()}: {name} — {ckpt.title()}"
            + (f" ({prepared.note})" if prepared.note else "")
        )
        if ckpt.path is not None:
            self.opened.emit(slot, str(ckpt.path))
        self._report_skipped(prepared.dataset)
        if self.last_xy is not None:
            self._decode_slot(slot, *self.last_xy)

    def _report_skipped(self, dataset: ImageDataset | None) -> None:
        """Say which files of an image folder were not read, and why (in a
        box in the window: a status line would be gone before a short run ends)."""
        if dataset is not None and dataset.skipped:
            note = dataset.skipped_note()
            self.errorRaised.emit(
                "Files of the folder skipped", note[0].upper() + note[1:]
            )

    def _save_args(self, slot: int) -> tuple[Checkpoint, dict[str, Any]]:
        from latentlab.core.checkpoints import metrics_summary

        state = self.slots[slot]
        if state.checkpoint is None or state.training:
            raise LatentLabError(f"the {slot_name(slot)} slot has no finished model")
        refusal = self.save_refusal(slot)
        if refusal:
            raise LatentLabError(refusal)
        ckpt = state.checkpoint
        return ckpt, {
            "history": ckpt.history,
            "dataset": ckpt.dataset,
            "metrics": ckpt.metrics or metrics_summary(ckpt.history),
            "timeline": ckpt.timeline,
        }

    def save_refusal(self, slot: int) -> str:
        """Why ``slot``'s model cannot be saved as a LatentLab file ("" when it
        can): a module from Python whose architecture LatentLab cannot rebuild."""
        model = self.slots[slot].model
        if model is None:
            return ""
        from latentlab.core.wrap import rebuildable

        if rebuildable(model) is not None:
            return ""
        name = getattr(model, "name", "this model")
        return (
            f"LatentLab cannot rebuild {name} from a file: its architecture is not "
            "one of LatentLab's. It stays usable from Python only (save its weights "
            "there with torch.save)."
        )

    def _mark_saved(self, slot: int, ckpt: Checkpoint, written: Path) -> None:
        ckpt.path = written
        if slot < len(self.slots) and self.slots[slot].checkpoint is ckpt:
            self.session.update_side(slot, unsaved=False)
        message = f"Saved {written}"
        if ckpt.timeline is not None and written.suffix.lower() == ".safetensors":
            # The format holds weights, config and history only.
            message += " without its training timeline (save as .pt to keep it)"
        self.status.emit(message)
        self.saved.emit(slot, str(written))

    def save(
        self, slot: int, path: str | os.PathLike[str], *, overwrite: bool = False
    ) -> None:
        """Save ``slot``'s model to ``path`` as a job (an atomic write; an
        existing file is replaced only with ``overwrite``)."""
        from latentlab.core.checkpoints import save_checkpoint

        try:
            ckpt, extra = self._save_args(slot)
        except LatentLabError as exc:
            self._fail("Nothing to save", exc)
            return
        target = Path(path)
        from latentlab.core.wrap import rebuildable

        self.submit(
            f"save{slot}",
            save_checkpoint,
            target,
            rebuildable(ckpt.model),
            overwrite=overwrite,
            on_result=lambda written: self._mark_saved(slot, ckpt, written),
            on_error=lambda exc: self._fail(f"Could not save {target.name}", exc),
            **extra,
        )

    def save_now(self, slot: int, path: str | os.PathLike[str]) -> bool:
        """Save at once, on this thread (before quitting); True when written."""
        from latentlab.core.checkpoints import save_checkpoint

        try:
            ckpt, extra = self._save_args(slot)
            from latentlab.core.wrap import rebuildable

            model = rebuildable(ckpt.model)
            written = save_checkpoint(Path(path), model, overwrite=True, **extra)
        except LatentLabError as exc:
            self._fail(f"Could not save {Path(path).name}", exc)
            return False
        self._mark_saved(slot, ckpt, written)
        return True

    def export_codes(self, slot: int, path: str | os.PathLike[str]) -> None:
        """Write ``slot``'s encoded test set as CSV (the caller asked before
        replacing a file)."""
        from latentlab.core.codes_csv import write_codes_csv

        state = self.slots[slot]
        if state.codes is None or state.dataset is None:
            self._fail(
                "No codes to export",
                LatentLabError("This slot shows no encoded test set"),
            )
            return
        target = Path(path)
        self.submit(
            f"csv{slot}",
            write_codes_csv,
            target,
            state.codes,
            state.dataset.test_labels.numpy(),
            state.dataset.class_names,
            overwrite=True,
            on_result=lambda written: self._on_codes_written(slot, written),
            on_error=lambda exc: self._fail(f"Could not write {target.name}", exc),
        )

    def _on_codes_written(self, slot: int, written: Path) -> None:
        self.status.emit(f"Wrote the {slot_name(slot)} codes to {written}")
        self.codesExported.emit(slot, str(written))
