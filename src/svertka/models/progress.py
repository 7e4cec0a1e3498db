"""What ``fit`` prints for one epoch, by ``verbose`` (as Keras): 0 nothing; 1 a progress bar
on stdout with the running loss and metrics, ending with the epoch's logs; 2 one line at the
end of the epoch, ``Epoch 2/5 - 16/16 - 0.4s - loss: 0.3127 - accuracy: 0.8750``, which is
what a log file, CI or ``nohup`` should get (``verbose="auto"`` picks it there)."""

from __future__ import annotations

import sys
import time


def format_logs(logs: dict) -> str:
    return " - ".join(f"{k}: {v:.4f}" for k, v in logs.items())


class EpochProgress:
    """The output of one epoch of ``steps`` batches (None: not known before the data runs out,
    as for a generator); a resumed epoch starts at ``done``."""

    def __init__(self, epoch: int, epochs: int, steps: int | None, verbose: int, done: int = 0):
        self.title = f"Epoch {epoch + 1}/{epochs}"
        self.steps, self.verbose, self.done = steps, verbose, done
        self.start = time.perf_counter()
        self.bar = None
        if verbose == 1:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=steps, initial=done, desc=self.title, unit="batch",
                            leave=True, dynamic_ncols=True, file=sys.stdout)

    def update(self, running: dict) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(running, refresh=False)

    def end(self, logs: dict) -> None:
        if self.bar is not None:
            self.bar.set_postfix(logs, refresh=True)
            self.bar.close()
        elif self.verbose == 2:
            seconds = time.perf_counter() - self.start
            print(f"{self.title} - {self._count()} - {seconds:.1f}s - {format_logs(logs)}",
                  flush=True)

    def _count(self) -> str:
        return f"{self.done}" if self.steps is None else f"{self.done}/{self.steps}"

    def interrupted(self) -> None:
        """The epoch stopped part-way (Ctrl-C): close the bar, or say so in one line."""
        if self.bar is not None:
            self.bar.close()
        elif self.verbose == 2:
            print(f"{self.title} - stopped after {self._count()} batches", flush=True)
