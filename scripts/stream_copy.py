"""Single-core memory bandwidth for docs/benchmarks.md (session 8): a numpy copy and a
reduction over 256 MiB arrays, best of 5.   .venv/bin/python scripts/stream_copy.py"""

import numpy as np, time
n = 32 * 2**20  # 256 MiB of f64
a = np.ones(n); b = np.empty(n)
best = 1e9
for _ in range(5):
    t = time.perf_counter(); np.copyto(b, a); best = min(best, time.perf_counter() - t)
print(f"copy: {2 * 8 * n / best / 1e9:.1f} GB/s (read + write, counting 16 B per element; write-allocate not counted)")
best = 1e9
for _ in range(5):
    t = time.perf_counter(); s = a.sum(); best = min(best, time.perf_counter() - t)
print(f"read (sum): {8 * n / best / 1e9:.1f} GB/s")
