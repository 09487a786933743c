"""Times the PyTorch peer: one network, one batch, one thread count, one process.

    /usr/bin/python3 bench/torch_run.py NET.cnn W.safetensors IN.npy THREADS
        RUNS BUDGET_S MIN_RUNS [OUT.npy]

Builds bench/torch_net.py's model from the .cnn and the weights (for
torchvision's networks, bench/tv_net.py's torchvision model), runs it twice
untimed (warm-up), then times model(x) with time.perf_counter until RUNS runs,
or until BUDGET_S seconds have passed and at least MIN_RUNS were made. Prints one
JSON line: runs, median_ms, min_ms, mean_ms, setup_ms (building the model).
Writes the last output to OUT.npy when given. bench/run.sh runs this under
/usr/bin/time for the process's max RSS.
"""

import json
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def main(argv):
    if len(argv) not in (8, 9):
        sys.stderr.write(__doc__)
        return 2
    cnn, weights, inp, threads = argv[1], argv[2], argv[3], int(argv[4])
    runs, budget, min_runs = int(argv[5]), float(argv[6]), int(argv[7])
    out_path = argv[8] if len(argv) == 9 else None

    t0 = time.perf_counter()
    import torch
    import torch_net  # imports make_goldens, which sets 2 threads: ours come after
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    import tv_net
    name = os.path.splitext(os.path.basename(cnn))[0]
    if name in tv_net.NETS:  # torchvision's own model, with the values cnnc was given
        model = tv_net.model(name)
    else:
        net, params = torch_net.load(cnn, weights)
        model = torch_net.CnnNet(net, params).eval()
    x = torch.from_numpy(np.load(inp).astype(np.float32, copy=False))
    setup_ms = (time.perf_counter() - t0) * 1e3

    times = []
    with torch.inference_mode():
        for _ in range(2):
            y = model(x)
        start = time.perf_counter()
        while len(times) < runs and (len(times) < min_runs or time.perf_counter() - start < budget):
            t1 = time.perf_counter()
            y = model(x)
            times.append((time.perf_counter() - t1) * 1e3)
    if out_path:
        np.save(out_path, y.numpy())
    print(json.dumps({"runs": len(times), "median_ms": statistics.median(times), "min_ms": min(times),
                      "mean_ms": statistics.fmean(times), "setup_ms": setup_ms,
                      "threads": torch.get_num_threads(), "torch": torch.__version__}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
