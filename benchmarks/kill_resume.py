"""kill -9 during ``fit`` with ``BackupAndRestore``, over and over: does every run resume and end
on the weights of the uninterrupted run, bit for bit?

Each run is one small seeded training (a CNN with dropout and online augmentation, Adam, 4
epochs of 16 batches, a backup every 3 batches) in its own process. The parent kills it with
SIGKILL at a random moment of training (a random iteration, then a random part of a batch's
time, so some kills land during a backup's write), one to three times per run, restarting it
after each kill with the same command; the last start runs to the end. Its final weights are
compared with those of an uninterrupted run.

    python benchmarks/kill_resume.py            # 30 runs
    python benchmarks/kill_resume.py --runs 5 --seed 1

Prints one line per run and the totals: kills that landed during training, runs that matched
bit for bit, and the time taken.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np

EPOCHS, SAMPLES, BATCH, SAVE_FREQ = 4, 128, 8, 3
TOTAL = EPOCHS * SAMPLES // BATCH  # iterations of a whole run


def worker(backup_dir: str, out: str) -> None:
    """The training run: prints each iteration's number as it ends, saves the final weights."""
    import svertka
    from svertka import callbacks
    from svertka.layers import Conv2D, Dense, Dropout, Flatten, MaxPooling2D
    from svertka.utils import set_random_seed

    rng = np.random.default_rng(0)
    x = rng.normal(0, 0.1, (SAMPLES, 12, 12, 1)).astype(np.float32)
    y = rng.integers(0, 3, SAMPLES)
    for k in range(3):
        x[y == k, 3 * k:3 * k + 4, 2:6] += 1.0
    set_random_seed(0)
    model = svertka.Sequential([
        Conv2D(8, 3, padding="same", activation="relu", input_shape=(12, 12, 1)),
        Dropout(0.2), MaxPooling2D(2), Flatten(), Dropout(0.3, seed=7),
        Dense(3, activation="softmax")])
    model.compile(svertka.optimizers.Adam(0.01), "sparse_categorical_crossentropy")

    class Report(callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            print(self.model.optimizer.iterations, flush=True)

    backup = callbacks.BackupAndRestore(backup_dir, save_freq=SAVE_FREQ)
    t0 = time.perf_counter()
    model.fit(x, y, batch_size=BATCH, epochs=EPOCHS, verbose=0, augment="flip,shift=0.1",
              callbacks=[backup, Report()])
    print(f"fit ended after {time.perf_counter() - t0:.3f} s, restored {backup.restored}",
          flush=True)
    np.savez(out, *model.get_weights())


def start(backup_dir: str, out: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, __file__, "--worker", backup_dir, out],
                            stdout=subprocess.PIPE, text=True, bufsize=1)


def run_once(rng: random.Random, folder: str, batch_seconds: float) -> tuple[int, int, list[str]]:
    """One run with 1-3 kills; returns the kills that landed in training, those of them that
    landed while a backup was being written (its temporary file was left behind), and what
    each start did."""
    backup, out = os.path.join(folder, "backup"), os.path.join(folder, "out.npz")
    targets = sorted(rng.sample(range(1, TOTAL), rng.randint(1, 3)))
    landed, in_write, story = 0, 0, []
    for target in targets:
        proc = start(backup, out)
        for line in proc.stdout:  # the iterations as they end
            if line.strip().isdigit() and int(line) >= target:
                break
        time.sleep(rng.uniform(0, batch_seconds))  # somewhere inside the next batch or save
        proc.send_signal(signal.SIGKILL)
        code = proc.wait()
        rest = proc.stdout.read().split()
        proc.stdout.close()
        last = max([target, *(int(w) for w in rest if w.isdigit())])
        temps = [f for f in os.listdir(backup) if f.endswith(".tmp")] if os.path.isdir(
            backup) else []
        if code == -signal.SIGKILL and last < TOTAL:
            landed += 1
            in_write += bool(temps)
            story.append(f"killed in iteration {last + 1}" + (" mid-write" if temps else ""))
        else:  # at the end of fit: the backup may be gone, and the next start begin afresh
            story.append(f"killed after the last iteration (exit {code})")
    proc = start(backup, out)
    tail = proc.communicate()[0].strip().splitlines()[-1]
    story.append(tail)
    if os.path.exists(backup):  # the finished run removes its backup and, empty, the folder
        story.append(f"left behind: {os.listdir(backup)}")
    return landed, in_write, story


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--worker", nargs=2, metavar=("BACKUP_DIR", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return
    rng = random.Random(args.seed)
    root = tempfile.mkdtemp(prefix="svertka-kill-")
    try:
        t0 = time.perf_counter()
        ref_out = os.path.join(root, "ref.npz")
        proc = start(os.path.join(root, "ref_backup"), ref_out)
        fit_seconds = float(proc.communicate()[0].split("fit ended after ")[1].split()[0])
        ref_seconds = time.perf_counter() - t0
        with np.load(ref_out) as f:
            reference = [f[k] for k in f.files]
        batch_seconds = fit_seconds / TOTAL  # a kill's delay after its iteration: up to this
        print(f"uninterrupted run: {ref_seconds:.1f} s, of which fit {fit_seconds:.2f} s "
              f"({TOTAL} iterations, a backup every {SAVE_FREQ})")
        matched = kills = mid_write = 0
        t0 = time.perf_counter()
        for i in range(args.runs):
            folder = os.path.join(root, f"run{i}")
            os.makedirs(folder)
            landed, in_write, story = run_once(rng, folder, batch_seconds)
            with np.load(os.path.join(folder, "out.npz")) as f:
                weights = [f[k] for k in f.files]
            same = len(weights) == len(reference) and all(
                a.dtype == b.dtype and np.array_equal(a, b) for a, b in zip(weights, reference))
            matched += same
            kills += landed
            mid_write += in_write
            print(f"run {i + 1:2d}: {'same' if same else 'DIFFERENT'} - {'; '.join(story)}",
                  flush=True)
        seconds = time.perf_counter() - t0
        print(f"\n{kills} kills landed during training in {args.runs} runs ({mid_write} of them "
              f"while a backup was being written); {matched} of "
              f"{args.runs} runs ended on the uninterrupted run's weights bit for bit; "
              f"{seconds:.0f} s ({seconds / args.runs:.1f} s a run, the uninterrupted run "
              f"{ref_seconds:.1f} s)")
        if matched != args.runs:
            sys.exit(1)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
