// Pipeline stats: batch sizes and inference time per model, as Prometheus text.

/** Upper bounds of the batch-size histogram buckets. */
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

interface ModelBatchStats {
  /** Exact count of batches of each size (index = size). */
  sizes: number[];
  batches: number;
  images: number;
  inferSeconds: number;
}

const modelLabel = (key: string) => `model_id="${key.replace(/["\\\n]/g, "_")}"`;

export class PipelineStats {
  private readonly models = new Map<string, ModelBatchStats>();

  recordBatch(key: string, size: number, inferMs: number): void {
    let s = this.models.get(key);
    if (!s) this.models.set(key, (s = { sizes: [], batches: 0, images: 0, inferSeconds: 0 }));
    s.sizes[size] = (s.sizes[size] ?? 0) + 1;
    s.batches++;
    s.images += size;
    s.inferSeconds += inferMs / 1000;
  }

  /** Batch size -> number of batches, for one model. */
  batchSizes(key: string): Map<number, number> {
    const out = new Map<number, number>();
    this.models.get(key)?.sizes.forEach((n, size) => n && out.set(size, n));
    return out;
  }

  toPrometheus(): string {
    const lines = [
      "# HELP inference_batch_size Images per ONNX Runtime call.",
      "# TYPE inference_batch_size histogram",
    ];
    for (const [key, s] of this.models) {
      const label = modelLabel(key);
      for (const bound of BATCH_BUCKETS) {
        const below = s.sizes.reduce((acc, n, size) => (size <= bound ? acc + (n ?? 0) : acc), 0);
        lines.push(`inference_batch_size_bucket{${label},le="${bound}"} ${below}`);
      }
      lines.push(`inference_batch_size_bucket{${label},le="+Inf"} ${s.batches}`);
      lines.push(`inference_batch_size_sum{${label}} ${s.images}`);
      lines.push(`inference_batch_size_count{${label}} ${s.batches}`);
    }
    lines.push("# HELP inference_batches_by_size_total ONNX Runtime calls by exact batch size.", "# TYPE inference_batches_by_size_total counter");
    for (const [key, s] of this.models) {
      s.sizes.forEach((n, size) => n && lines.push(`inference_batches_by_size_total{${modelLabel(key)},size="${size}"} ${n}`));
    }
    lines.push("# HELP inference_seconds_total Time spent inside ONNX Runtime calls.", "# TYPE inference_seconds_total counter");
    for (const [key, s] of this.models) lines.push(`inference_seconds_total{${modelLabel(key)}} ${s.inferSeconds}`);
    return `${lines.join("\n")}\n`;
  }
}
