"""Where each kind of dataset comes from, one source a module.

Import from :mod:`latentlab.core.data`: it loads a dataset by name and
re-exports what these modules hold.

- :mod:`.image_dataset`: :class:`~.image_dataset.ImageDataset`, the in-memory
  split every source produces, and the check of a data folder's path
- :mod:`.shapes`: the embedded ``shapes`` set, generated offline
- :mod:`.idx`: MNIST, Fashion-MNIST and KMNIST from IDX files
- :mod:`.image_folder`: a user's folder of image files
"""
