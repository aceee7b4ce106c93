"""Test support: fabricated run folders and seeded simulations of the statistics.

Tests and `benchmarks/` need run folders without a phone (written through
`RunStore`, exactly as `harness run` writes them) and simulations of how often
`harness check` is right. They are not part of the product: nothing in
`harness/` imports them. Tests import them as `tests.support.<module>`; a
benchmark script puts the repository root on `sys.path` first.
"""
