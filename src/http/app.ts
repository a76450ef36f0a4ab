// HTTP app: the Elysia application with every route and the error mapping.
import { Elysia } from "elysia";
import { CollectionPacer } from "../pipeline/collection-pacer.ts";
import type { Pipeline } from "../pipeline/pipeline.ts";
import { errorResponse } from "./errors.ts";
import { guard } from "./guard.ts";
import { docsRoutes } from "./routes/docs.ts";
import { inferRoutes } from "./routes/infer.ts";
import { legacyRoutes } from "./routes/legacy.ts";
import { modelRoutes } from "./routes/models.ts";
import { opsRoutes } from "./routes/ops.ts";
import { playgroundRoutes } from "./routes/playground.ts";

export function createApp(pipeline: Pipeline, serverId: string = crypto.randomUUID()) {
  const pacer = new CollectionPacer(pipeline.config.gcEveryBytes);
  return (
    new Elysia()
      // First: body size, API keys and CORS come before any route (and its error mapping before ours).
      .use(guard(pipeline.config, (bytes) => pacer.count(bytes)))
      .onError(({ code, error, set }) => {
        const response = errorResponse(code, error);
        // onAfterResponse reads the status from here: Elysia leaves set.status at 200 for some errors.
        set.status = response.status;
        return response;
      })
      .onAfterResponse({ as: "global" }, ({ route, set, responseValue }) => {
        const status = responseValue instanceof Response ? responseValue.status : typeof set.status === "number" ? set.status : 200;
        pipeline.metrics.recordHttpResponse(route, status);
        // The guard counted the body's bytes as it let it in; the body is garbage now.
        pacer.collectIfDue();
      })
      .use(docsRoutes())
      .use(playgroundRoutes())
      .use(opsRoutes(pipeline, serverId))
      .use(inferRoutes(pipeline))
      .use(modelRoutes(pipeline))
      // Last, as in the reference: every fixed route above wins over /{dataset}/{version}.
      .use(legacyRoutes(pipeline))
  );
}
