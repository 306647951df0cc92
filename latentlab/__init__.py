"""LatentLab: explore the latent spaces of autoencoders and VAEs side by side."""

__version__ = "0.1.0"
