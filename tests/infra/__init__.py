"""Tests of the Pulumi program (infra/) under Pulumi's mock runtime, and of the stack files."""
