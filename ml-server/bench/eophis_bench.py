"""The GZ21 FullyCNN inference done the Eophis way, timed per stage.

Eophis receives the fields as numpy arrays through OASIS and runs the model
with ``torch.tensor(a).to(device)`` … ``.cpu().numpy()``. This script times
the same stages as ``ml-server bench`` on the same cases (1×128², 1×512²,
36×(62×199), 10-cell halo), with the same transforms (input ×10, valid
convolutions, softplus(raw) + min_value, output ×1e-7, mean only):

    python ml-server/bench/eophis_bench.py ../shared/gz21/trained_model.pth [--repeats 5] [--device cpu]
"""

import argparse
import time

import numpy as np
import torch
import torch.nn as nn

SPEC = [(2, 128, 5), (128, 64, 5), (64, 32, 3), (32, 32, 3), (32, 32, 3), (32, 32, 3), (32, 32, 3), (32, 4, 3)]
CASES = [(1, 128, 128), (1, 512, 512), (36, 62, 199)]


def gz21(weights):
    layers = []
    for k, (i, o, s) in enumerate(SPEC):
        layers.append(nn.Conv2d(i, o, s))
        if k < len(SPEC) - 1:
            layers.append(nn.ReLU())
    net = nn.Sequential(*layers)
    sd = torch.load(weights, map_location="cpu")
    min_value = float(sd.pop("final_transformation.min_value"))
    net.load_state_dict(sd)
    return net.eval(), min_value


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench(net, min_value, device, levels, ny, nx, halo, warmup, repeats):
    received = (0.1 * ((np.arange(levels * 2 * (ny + 2 * halo) * (nx + 2 * halo)) % 977) / 977.0 - 0.5)).astype(np.float32)
    received = received.reshape(levels, 2, ny + 2 * halo, nx + 2 * halo)
    totals = np.zeros(4)
    for call in range(warmup + repeats):
        t0 = time.perf_counter()
        a = np.array(received, copy=True)  # the field as OASIS hands it to Python
        t1 = time.perf_counter()
        x = torch.tensor(a).to(device)
        sync(device)
        t2 = time.perf_counter()
        with torch.no_grad():
            y = net(x * 10.0)
            mean, precision = y[:, :2], nn.functional.softplus(y[:, 2:]) + min_value
            s = mean * 1e-7
        sync(device)
        t3 = time.perf_counter()
        out = s.cpu().numpy()
        t4 = time.perf_counter()
        assert out.shape == (levels, 2, ny, nx) and np.isfinite(out).all() and precision.numel() > 0
        if call >= warmup:
            totals += [t1 - t0, t2 - t1, t3 - t2, t4 - t3]
    return totals / repeats


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("weights")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--halo", type=int, default=10)
    p.add_argument("--max-cells", type=int, default=None, help="only cases with at most this many input cells")
    args = p.parse_args()
    device = torch.device(args.device)
    net, min_value = gz21(args.weights)
    net = net.to(device)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {device}")
    print("    levels×ny×nx   device  stage(ms)    h2d(ms) infer(ms)    d2h(ms)   total(ms)")
    for levels, ny, nx in CASES:
        if args.max_cells is not None and levels * (ny + 2 * args.halo) * (nx + 2 * args.halo) > args.max_cells:
            continue
        t = bench(net, min_value, device, levels, ny, nx, args.halo, args.warmup, args.repeats) * 1e3
        name = f"{levels}x{ny}x{nx}"
        print(f"{name:>16} {device.type:>8} {t[0]:>10.3f} {t[1]:>10.3f} {t[2]:>11.2f} {t[3]:>10.3f} {t.sum():>11.2f}")


if __name__ == "__main__":
    main()
