"""Figures for the som chapter(s) (to be written)."""

__all__ = []
