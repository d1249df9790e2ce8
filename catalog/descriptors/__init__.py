"""Readers of the descriptor files that projects declare themselves with."""
