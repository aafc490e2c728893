"""The sections of bench/bench_libraries.py: one module per hand-written piece."""
