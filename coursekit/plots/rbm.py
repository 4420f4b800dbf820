"""Figures for the rbm chapter(s) (to be written)."""

__all__ = []
