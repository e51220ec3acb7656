"""Tests of musicalpy.representations, one module per module of the package."""
