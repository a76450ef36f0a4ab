// HTTP app: the Elysia application with every route and the error mapping.
import { Elysia } from "elysia";
import { CollectionPacer } from "../workers/collection-pacer.ts";
import { readThreadMemory } from "../workers/thread-memory.ts";
import type { Pipeline } from "../pipeline/pipeline.ts";
import { errorResponse } from "./errors.ts";
import { ApiKeys, apiKeyGuard, awaitsBodyKey } from "./guards/api-key.ts";
import { BodyBudget, unauthenticatedShare } from "./guards/body-budget.ts";
import { bodyLimitGuard } from "./guards/body-limit.ts";
import { corsGuard } from "./guards/cors.ts";
import { earlyAnswer } from "./guards/early-answer.ts";
import { jsonShapeGuard } from "./guards/json-shape.ts";
import type { AppSettings } from "./settings.ts";
import { docsRoutes } from "./routes/docs.ts";
import { inferRoutes } from "./routes/infer.ts";
import { legacyRoutes } from "./routes/legacy.ts";
import { modelRoutes } from "./routes/models.ts";
import { opsRoutes } from "./routes/ops.ts";
import { playgroundRoutes } from "./routes/playground.ts";

export function createApp(pipeline: Pipeline, settings: AppSettings, serverId: string = crypto.randomUUID()) {
  const config = settings.http;
  const pacer = new CollectionPacer(settings.memory.gcEveryBytes);
  const keys = new ApiKeys(config.serverApiKeys);
  // Refused bodies are read and thrown away before the answer: garbage no answer is waited for, so it is collected as it piles up.
  const countDiscarded = (bytes: number) => {
    pacer.count(bytes);
    pacer.collectIfDue();
  };
  return (
    new Elysia()
      // First, in this order, before any route (and their error mapping before ours): CORS headers go on every answer,
      // a request without a key is refused before its body is read, a body too large or beyond the bytes held at once
      // before it is held, and a body too deep or too large to validate quickly never reaches the validator.
      .use(corsGuard(config.corsAllowedOrigins))
      .use(apiKeyGuard(keys, earlyAnswer(countDiscarded)))
      .use(
        bodyLimitGuard(config.maxRequestBytes, {
          budget: new BodyBudget(config.maxRequestBytesInFlight, unauthenticatedShare(config.maxRequestBytesInFlight, config.maxRequestBytes)),
          awaitsAuthentication: (request) => awaitsBodyKey(keys, request),
          // The pacer hears every body let in (a request later refused for its body key too, which only brings a collection forward).
          countBodyBytes: (bytes) => pacer.count(bytes),
          countDiscarded,
        }),
      )
      .use(jsonShapeGuard())
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
      .use(opsRoutes(pipeline, serverId, () => readThreadMemory(pacer)))
      .use(inferRoutes(pipeline, settings))
      .use(modelRoutes(pipeline, settings.http))
      // Last, as in the reference: every fixed route above wins over /{dataset}/{version}.
      .use(legacyRoutes(pipeline, settings))
  );
}
