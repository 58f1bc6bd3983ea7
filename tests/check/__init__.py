"""Tests of healthcheck.check: targets, requests, expectations, secrets, the probe and the runner."""
