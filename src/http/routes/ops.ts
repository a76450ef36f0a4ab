// Operational routes: /info, /healthz, /readiness, /metrics (the landing page is the playground's).
import { Elysia } from "elysia";
import { samplePipeline } from "../../pipeline/metrics.ts";
import type { Pipeline } from "../../pipeline/pipeline.ts";
import type { ThreadMemory } from "../../workers/thread-memory.ts";
import { ServerInfo } from "../schemas.ts";

/** Reported as the reference's version so clients that check it accept us. */
export const COMPAT_VERSION = "1.5.0";

/** `httpThreadMemory` reads the HTTP thread's memory (it runs on that thread, with its collection pacer). */
export function opsRoutes(pipeline: Pipeline, serverId: string, httpThreadMemory: () => ThreadMemory) {
  return new Elysia()
    .get(
      "/info",
      () => ({
        name: "Roboflow Inference Server",
        version: COMPAT_VERSION,
        uuid: serverId,
        execution_provider: pipeline.activeProvider,
        execution_provider_fallback: pipeline.providerFallbacks.join("; ") || null,
        onnxruntime_version: pipeline.ortVersion,
      }),
      {
        response: ServerInfo,
        detail: { tags: ["Operations"], summary: "Server info", description: "Name, compatible version, this server's id, and the execution provider in use." },
      },
    )
    .get("/healthz", () => ({ status: "healthy" }), { detail: { tags: ["Operations"], summary: "Liveness" } })
    .get("/readiness", () => ({ status: "ready" }), { detail: { tags: ["Operations"], summary: "Readiness" } })
    .get(
      "/metrics",
      async () => {
        const sample = await samplePipeline(pipeline.host, pipeline.pool, httpThreadMemory());
        return new Response(pipeline.metrics.toPrometheus(sample), { headers: { "content-type": "text/plain; version=0.0.4" } });
      },
      {
        detail: {
          tags: ["Operations"],
          summary: "Prometheus metrics",
          description:
            "Requests by route and status, images in flight and queued per model, time per pipeline stage, batch sizes, arena slots in use, vision worker restarts, and the memory of the HTTP thread and each vision worker (JavaScript heap, memory held outside it, paced collections).",
        },
      },
    );
}
