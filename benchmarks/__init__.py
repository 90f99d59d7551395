"""Scripts that print throughput, size, memory and reproducibility figures; run each as python -m benchmarks.NAME."""
