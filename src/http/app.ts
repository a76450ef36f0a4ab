// HTTP app: the Elysia application with every route and the error mapping.
import { Elysia } from "elysia";
import type { Pipeline } from "../pipeline/pipeline.ts";
import { errorResponse } from "./errors.ts";
import { inferRoutes } from "./routes/infer.ts";
import { opsRoutes } from "./routes/ops.ts";

export function createApp(pipeline: Pipeline, serverId: string = crypto.randomUUID()) {
  return new Elysia()
    .onError(({ code, error }) => errorResponse(code, error))
    .use(opsRoutes(pipeline, serverId))
    .use(inferRoutes(pipeline));
}
