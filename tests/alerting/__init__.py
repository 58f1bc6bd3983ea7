"""Tests of healthcheck.alerting: state, its table, maintenance, tracking, messages."""
