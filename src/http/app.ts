// HTTP app: the Elysia application with every route and the error mapping.
import { Elysia } from "elysia";
import { CollectionPacer } from "../workers/collection-pacer.ts";
import type { Pipeline } from "../pipeline/pipeline.ts";
import { errorResponse } from "./errors.ts";
import { guard } from "./guard.ts";
import type { AppSettings } from "./settings.ts";
import { docsRoutes } from "./routes/docs.ts";
import { inferRoutes } from "./routes/infer.ts";
import { legacyRoutes } from "./routes/legacy.ts";
import { modelRoutes } from "./routes/models.ts";
import { opsRoutes } from "./routes/ops.ts";

export function createApp(pipeline: Pipeline, settings: AppSettings, serverId: string = crypto.randomUUID()) {
  const pacer = new CollectionPacer(settings.memory.gcEveryBytes);
  return (
    new Elysia()
      // First: body size, API keys and CORS come before any route (and its error mapping before ours).
      .use(guard(settings.http, (bytes) => pacer.count(bytes)))
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
      .use(opsRoutes(pipeline, serverId))
      .use(inferRoutes(pipeline, settings))
      .use(modelRoutes(pipeline, settings.http))
      // Last, as in the reference: every fixed route above wins over /{dataset}/{version}.
      .use(legacyRoutes(pipeline, settings))
  );
}
