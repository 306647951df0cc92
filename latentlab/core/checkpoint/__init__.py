"""The parts of :mod:`latentlab.core.checkpoints`, one responsibility a module.

Import from :mod:`latentlab.core.checkpoints`: it holds the public API
(:class:`~latentlab.core.checkpoints.Checkpoint`, ``load_checkpoint``,
``save_checkpoint``, ``metrics_summary``) and re-exports the format's constants.

- :mod:`.format`: the format's name, version and bounds; shared refusal wording
- :mod:`.save`: writing a checkpoint atomically (torch or safetensors)
- :mod:`.archive`: the zip directory of a torch file, checked before reading
- :mod:`.unpickler`: the stub unpickler, which builds no tensor and calls nothing
- :mod:`.dry_load`: the record a torch file declares, checked before ``torch.load``
- :mod:`.validation`: the record's fields (history, dataset, metrics, text)
- :mod:`.weights`: declared tensors against the config and the memory budget
- :mod:`.timeline`: the stored timeline, declared and loaded
- :mod:`.safetensors_read`: a safetensors file's record, or a foreign layout
"""
