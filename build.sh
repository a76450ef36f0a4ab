#!/usr/bin/env bash
# Builds both images from the repository root: $IMAGE-gpu:$TAG (CUDA 13) and $IMAGE-cpu:$TAG.
# Extra arguments go to both `docker build`s, e.g. ./build.sh --build-arg WITH_TENSORRT=1
set -euo pipefail
cd "$(dirname "$0")"

IMAGE="${IMAGE:-bun-inference-server}"
TAG="${TAG:-latest}"

docker build --pull --target gpu -t "$IMAGE-gpu:$TAG" "$@" .
docker build --pull --target cpu -t "$IMAGE-cpu:$TAG" "$@" .
