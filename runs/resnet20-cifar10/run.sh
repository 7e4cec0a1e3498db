#!/usr/bin/env bash
# ResNet-20 on CIFAR-10 (issue 18: at least 90%), 100 epochs of SGD with a cosine rate, the
# README's recipe run twice as long. Resumable: --backup keeps the whole state (weights,
# optimiser, epoch, random generators) in backup/ after every epoch, and this same command
# continues from it. Started 2026-12-05; the state after the last finished epoch is committed
# here so that a later session (a new machine) continues the run:
#
#   cd runs/resnet20-cifar10 && SVERTKA_DATA=/path/to/shared/data nohup ./run.sh >> train.txt 2>&1 &
#
# At 100 epochs: python examples/ship_weights.py runs/resnet20-cifar10/resnet20-cifar10-100.svk
# resnet20 cifar10 (from the checkout's root), then delete this folder's backup.
set -euo pipefail
cd "$(dirname "$0")"
exec python -m svertka train resnet20 cifar10 --epochs 100 --batch-size 128 --optimizer sgd \
  --learning-rate 0.1 --momentum 0.9 --nesterov --weight-decay 5e-4 --schedule cosine \
  --warmup-epochs 1 --augment flip,crop=4 --validation-split 0 --monitor-test \
  --backup backup --seed 0 --output resnet20-cifar10-100.svk
