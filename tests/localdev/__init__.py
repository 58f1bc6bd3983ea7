"""Tests of the local tools behind make run / serve / report / check-config."""
