"""Figures for the autoencoders chapter(s) (to be written)."""

__all__ = []
