"""Debounced state and who hears about it: policy, state, its table, maintenance, tracking, messages, SNS."""
