"""Figures for the prototypes chapter(s) (to be written)."""

__all__ = []
