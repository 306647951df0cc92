"""Benchmarks: each module's ``main(argv)`` prints ``name value unit`` lines."""
