"""Synthetic, labelled sign-in logs in real vendor formats (fixtures, benchmarks, drills)."""
