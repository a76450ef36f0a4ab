# syntax=docker/dockerfile:1
# Bun inference server images, two targets (build.sh builds both):
#   gpu  CUDA 13 + cuDNN 9 runtime; the GPU build of ONNX Runtime with its CUDA and TensorRT providers (bun run setup:gpu)
#   cpu  Debian slim; the CPU execution provider only
# The server runs as `bun src/main.ts` as a non-root user; models (and TensorRT engines) live in the /tmp/cache volume.
# src/ holds the demo models (src/demo/models); examples/shapes.jpg is the playground's example picture. No test code.

ARG BUN_VERSION=1.4.5
ARG CUDA_IMAGE=nvidia/cuda:13.0.1-cudnn-runtime-ubuntu24.04
ARG CPU_IMAGE=debian:bookworm-slim

# ---- production dependencies, exactly as the lockfile says
FROM oven/bun:${BUN_VERSION} AS deps
WORKDIR /app
COPY package.json bun.lock ./
RUN bun install --frozen-lockfile --production

# ---- the same plus node_modules/.onnxruntime-gpu: onnxruntime-node's GPU-capable libonnxruntime and the CUDA and
# TensorRT provider libraries of the same ONNX Runtime version (bun run setup:gpu loads it to check it lists them)
FROM deps AS gpu-deps
COPY native-bindings/ native-bindings/
COPY scripts/setup-gpu.ts scripts/
RUN bun scripts/setup-gpu.ts

# ---- GPU image
FROM ${CUDA_IMAGE} AS gpu
# The base image has every library the CUDA provider loads (cudart, cublas, cublasLt, curand, cufft and nvrtc of CUDA 13,
# cuDNN 9). TensorRT (from NVIDIA's apt repository, configured in the base image) is large and serves only
# EXECUTION_PROVIDERS=tensorrt,...: ONNX Runtime 1.29's TensorRT provider is built against 10.14.1, so no older one.
ARG WITH_TENSORRT=0
ARG TENSORRT_VERSION=10.14.1.48-1+cuda13.0
RUN if [ "$WITH_TENSORRT" = "1" ]; then \
      apt-get update \
      && apt-get install -y --no-install-recommends \
        "libnvinfer10=${TENSORRT_VERSION}" "libnvinfer-plugin10=${TENSORRT_VERSION}" "libnvonnxparsers10=${TENSORRT_VERSION}" \
      && rm -rf /var/lib/apt/lists/*; \
    fi \
    && useradd --system --uid 10001 --create-home inference \
    && mkdir -p /tmp/cache \
    && chown inference /tmp/cache
COPY --from=deps /usr/local/bin/bun /usr/local/bin/bun
WORKDIR /app
COPY --from=gpu-deps /app/node_modules ./node_modules
COPY package.json bunfig.toml ./
COPY native-bindings/ ./native-bindings/
COPY src/ ./src/
COPY examples/shapes.jpg ./examples/
COPY scripts/healthcheck.ts ./scripts/
ENV NODE_ENV=production HOST=0.0.0.0 PORT=9001 MODEL_CACHE_DIR=/tmp/cache EXECUTION_PROVIDERS=cuda,cpu ORT_LIB_PATH=/app/node_modules/.onnxruntime-gpu
VOLUME ["/tmp/cache"]
EXPOSE 9001
USER inference
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 CMD ["bun", "scripts/healthcheck.ts"]
CMD ["bun", "src/main.ts"]

# ---- CPU image
FROM ${CPU_IMAGE} AS cpu
RUN useradd --system --uid 10001 --create-home inference \
    && mkdir -p /tmp/cache \
    && chown inference /tmp/cache
COPY --from=deps /usr/local/bin/bun /usr/local/bin/bun
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json bunfig.toml ./
COPY native-bindings/ ./native-bindings/
COPY src/ ./src/
COPY examples/shapes.jpg ./examples/
COPY scripts/healthcheck.ts ./scripts/
ENV NODE_ENV=production HOST=0.0.0.0 PORT=9001 MODEL_CACHE_DIR=/tmp/cache EXECUTION_PROVIDERS=cpu
VOLUME ["/tmp/cache"]
EXPOSE 9001
USER inference
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 CMD ["bun", "scripts/healthcheck.ts"]
CMD ["bun", "src/main.ts"]
