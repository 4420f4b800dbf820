"""Figures for the latent chapter(s) (to be written)."""

__all__ = []
