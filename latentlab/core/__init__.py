"""Qt-free core: models, data, training, checkpoints and latent maths."""
