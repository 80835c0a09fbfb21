#!/bin/sh
# Regenerates the pictures of the README, in docs/:
#   docs/digits.png     the first 32 MNIST test digits with their labels (cmd/show)
#   docs/errors.png     the embedded model's first 40 mistakes on the test set (cmd/infer --errors)
#   docs/confusion.png  its confusion matrix as a heat map (cmd/infer --confusion)
#   docs/curves.png     learning curves of a short training run (cmd/train --plot)
#   docs/imageprep.png  drawings and the 28x28 imageprep.Frame makes of them
#   docs/serve-*.png    the draw-a-digit page in Chromium, desktop and phone (needs chromium)
# Run from anywhere: scripts/pictures.sh  (about a minute on 2 cores)
set -eu
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

go build -o "$tmp/" ./cmd/show ./cmd/infer ./cmd/train
"$tmp/show" --split test --count 32 --columns 8 --out docs/digits.png
"$tmp/infer" --errors docs/errors.png --errors-max 40 --confusion docs/confusion.png >/dev/null
"$tmp/train" --epochs 3 --limit 10000 --seed 1 --out "$tmp/m.safetensors" --plot docs/curves.png
go test -count=1 -run TestPicture ./imageprep -picture >/dev/null
TAPENET_CHROMIUM=1 go test -count=1 -run TestBrowser ./serve -screenshots >/dev/null
echo "wrote docs/digits.png docs/errors.png docs/confusion.png docs/curves.png docs/imageprep.png docs/serve-desktop.png docs/serve-phone.png"
