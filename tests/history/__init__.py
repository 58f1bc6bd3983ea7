"""Tests of healthcheck.history: the record store, rollups, the report."""
