"""Experiments: a file describing a matrix of cells, each run as a sequence of phases on real servers."""
