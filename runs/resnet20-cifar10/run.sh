#!/usr/bin/env bash
# ResNet-20 on CIFAR-10 (issue 18: at least 90%). The README's recipe (flip + crop, SGD with a
# cosine rate) reached 88.13% in 50 epochs and 88.27% in 100 (flip-crop-100-epochs.txt): twice
# the epochs gave 0.14 points. This run adds Cutout (DeVries and Taylor 2017: one 16x16 square
# blanked per image, the size they used for CIFAR-10) to the same 100 epochs, against the gap
# between train (97.8%) and test accuracy. Resumable: --backup keeps the whole state (weights,
# optimiser, epoch, random generators) in backup/ after every epoch, and this same command
# continues from it. The state after the last finished epoch is committed here so that a later
# session (a new machine) continues the run:
#
#   cd runs/resnet20-cifar10 && SVERTKA_DATA=/path/to/shared/data nohup ./run.sh >> train.txt 2>&1 &
#
# At 100 epochs, if better than the shipped weights: python examples/ship_weights.py
# runs/resnet20-cifar10/resnet20-cifar10-cutout.svk resnet20 cifar10 (from the checkout's
# root), then delete this folder.
set -euo pipefail
cd "$(dirname "$0")"
exec python -m svertka train resnet20 cifar10 --epochs 100 --batch-size 128 --optimizer sgd \
  --learning-rate 0.1 --momentum 0.9 --nesterov --weight-decay 5e-4 --schedule cosine \
  --warmup-epochs 1 --augment flip,crop=4,cutout=16 --validation-split 0 --monitor-test \
  --backup backup --seed 0 --output resnet20-cifar10-cutout.svk
