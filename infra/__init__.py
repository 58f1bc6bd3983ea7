"""Pulumi components and the pure builders they use (policies, schedules, settings)."""
