"""Evaluation: task definitions live in evals/*.yaml; the harness is r1repro.evals.harness."""
