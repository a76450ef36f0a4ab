#!/usr/bin/env bash
# Runs the GPU image on every GPU, like the reference's run.sh: port $PORT (9001), the model cache in a named volume,
# and each server setting that is set in this shell passed through by name (values, API keys included, stay out of argv).
# Extra arguments go to `docker run` before the image, e.g. ./run.sh -d
set -euo pipefail

PORT="${PORT:-9001}"
TAG="${TAG:-latest}"
IMAGE="${IMAGE:-bun-inference-server-gpu}"
CACHE_VOLUME="${CACHE_VOLUME:-bun-inference-cache}"
NAME="${NAME:-bun-inference}"

SETTINGS=(
  MAX_BATCH_SIZE BATCH_MAX_WAIT_MS BATCH_SIZE_PROBE NUM_WORKERS VISION_TASK_TIMEOUT_MS ARENA_SLOTS MAX_QUEUE REQUEST_TIMEOUT_MS ORT_INTRA_OP_THREADS
  EXECUTION_PROVIDERS CUDA_DEVICES CUDA_DEVICE_ID TENSORRT_CACHE_PATH TENSORRT_FP16 ORT_LIB_PATH
  DEMO_MODEL_ID PRELOAD_MODELS HOST
  DISABLE_PREPROC_AUTO_ORIENT DISABLE_PREPROC_CONTRAST DISABLE_PREPROC_GRAYSCALE DISABLE_PREPROC_STATIC_CROP
  MAX_REQUEST_BYTES MAX_IMAGE_PIXELS SERVER_API_KEYS CORS_ALLOWED_ORIGINS
  ALLOW_URL_INPUT ALLOW_NON_HTTPS_URL_INPUT ALLOW_URL_INPUT_WITHOUT_FQDN ALLOW_URL_INPUT_PRIVATE_ADDRESSES
  WHITELISTED_DESTINATIONS_FOR_URL_INPUT BLACKLISTED_DESTINATIONS_FOR_URL_INPUT
  URL_INPUT_MAX_REDIRECTS URL_INPUT_TIMEOUT_MS URL_INPUT_MAX_BYTES URL_INPUT_MAX_CONCURRENT
  API_KEY ROBOFLOW_API_KEY API_BASE_URL ROBOFLOW_API_REQUEST_TIMEOUT
)

args=(--rm --name "$NAME" --gpus all -p "$PORT:$PORT" -e "PORT=$PORT" -v "$CACHE_VOLUME:/tmp/cache")
for setting in "${SETTINGS[@]}"; do
  if [[ -n "${!setting:-}" ]]; then args+=(-e "$setting"); fi
done

exec docker run "${args[@]}" "$@" "$IMAGE:$TAG"
