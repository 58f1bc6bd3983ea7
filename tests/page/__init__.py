"""Tests of the status page (healthcheck.status and healthcheck.page)."""
