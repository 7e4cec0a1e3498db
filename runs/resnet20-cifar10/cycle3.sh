#!/usr/bin/env bash
# Issue 18 (ResNet-20 at 90% on CIFAR-10 in one view), a next step: a third cosine cycle.
# resnet20:cifar10 is the model that ships (89.82%): 100 epochs with Cutout
# (cutout-100-epochs.txt, 89.39%), then a second cycle of 45 epochs from a rate of 0.02
# (cutout-restart-45-epochs.txt, +0.43 points). This runs one more such cycle on its weights
# (the README recipe's second output, resnet20-cifar10.svk, gives the same run), with a new
# seed, about 75 min on 2 quiet cores; rerunning the same command resumes from backup3/.
#
#   cd runs/resnet20-cifar10 && SVERTKA_DATA=/path/to/shared/data nohup ./cycle3.sh >> cycle3.txt 2>&1 &
#
# If it ends at 90% or more: ship it (python examples/ship_weights.py resnet20-cifar10-190.svk
# resnet20 cifar10), add the command to the README's recipe, and measure again every figure
# the README gives for the shipped ResNet-20 (table row, TTA, transfer table, retrieval row,
# the docs/resnet20_*.png pictures), and the slow test's threshold.
set -euo pipefail
cd "$(dirname "$0")"
exec svertka train resnet20:cifar10 cifar10 --epochs 45 --batch-size 128 --optimizer sgd \
  --learning-rate 0.02 --momentum 0.9 --nesterov --weight-decay 5e-4 --schedule cosine \
  --warmup-epochs 1 --augment flip,crop=4,cutout=16 --validation-split 0 --monitor-test \
  --backup backup3 --seed 1 --output resnet20-cifar10-190.svk
