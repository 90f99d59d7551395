"""The test suite, with the simulations and tiny models the tests and benchmarks share."""
