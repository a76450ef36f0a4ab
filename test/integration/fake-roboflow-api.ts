// Test helper: a local stand-in for the Roboflow API (Bun.serve on 127.0.0.1) that speaks the reference's download
// protocol: GET /ort/{dataset}/{version} answers {"ort": {...}} whose `model` and `environment` are signed URLs back
// into this server, and GET /getWeights?model={id} (instant models) answers {taskType, modelType, modelFiles: {ort:
// {model}}, environment, ...} with the environment inline; both serve a model package from test/fixtures/models.
// It counts every hit and checks keys.
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

export interface FakeModel {
  /** The package served, e.g. test/fixtures/models/colour-probe/1. */
  dir: string;
  /** Served to anyone, even without a key (like Roboflow's public models). */
  public?: boolean;
  /** `modelType` (default: the package's model_type.json); "ort" or null exercise the reference's defaults. */
  modelType?: string | null;
  /** `colors` (default: the package's COLORS, which the environment then lacks). */
  colors?: Record<string, string>;
  /** Send the weights chunked, without a Content-Length, so their size is known only once they have all arrived. */
  undeclaredLength?: boolean;
}

export interface FakeApiOptions {
  models: Record<string, FakeModel>;
  /** Keys accepted (all others get 401). */
  keys: string[];
  /** Keys that are valid but lack the scope (403). */
  forbiddenKeys?: string[];
}

export interface FakeRoboflowApi {
  url: string;
  /** Hits per model id and kind. */
  hits(kind: "ort" | "getWeights" | "environment" | "weights", modelId: string): number;
  /** Every request's path and query, in order. */
  requests: { path: string; query: URLSearchParams; headers: Headers }[];
  /** Weights downloads: wait this long before sending, then send in `chunks` pieces `chunkDelayMs` apart. */
  weightsPacing: { delayMs: number; chunks: number; chunkDelayMs: number };
  /** When set, /ort and /getWeights answer this status for every model. */
  ortStatus: number | null;
  /** When set, /ort and /getWeights never answer (a stalled API). */
  ortStalls: boolean;
  stop(): void;
}

function packageOf(dir: string) {
  const weightsName = readdirSync(dir).find((name) => name.endsWith(".onnx"))!;
  const environment = JSON.parse(readFileSync(join(dir, "environment.json"), "utf8")) as Record<string, unknown>;
  const modelType = JSON.parse(readFileSync(join(dir, "model_type.json"), "utf8")) as { project_task_type: string; model_type: string };
  const classesPath = join(dir, "class_names.txt");
  const classes = existsSync(classesPath) ? readFileSync(classesPath, "utf8").split("\n").filter(Boolean) : undefined;
  return { weights: new Uint8Array(readFileSync(join(dir, weightsName))), environment, modelType, classes };
}

export function startFakeRoboflowApi(options: FakeApiOptions): FakeRoboflowApi {
  const hits = new Map<string, number>();
  const count = (kind: string, id: string) => hits.set(`${kind} ${id}`, (hits.get(`${kind} ${id}`) ?? 0) + 1);
  const requests: FakeRoboflowApi["requests"] = [];
  const packages = new Map(Object.entries(options.models).map(([id, model]) => [id, { model, pkg: packageOf(model.dir) }]));
  const token = (id: string) => Buffer.from(id).toString("base64url");
  const fromToken = (t: string) => Buffer.from(t, "base64url").toString("utf8");
  const state = { weightsPacing: { delayMs: 0, chunks: 1, chunkDelayMs: 0 }, ortStatus: null as number | null, ortStalls: false };

  let stopped = false;
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    async fetch(request) {
      const url = new URL(request.url);
      requests.push({ path: url.pathname, query: url.searchParams, headers: request.headers });
      const ort = /^\/ort\/([^/]+)\/([^/]+)$/.exec(url.pathname);
      const id = ort ? `${decodeURIComponent(ort[1]!)}/${decodeURIComponent(ort[2]!)}` : url.pathname === "/getWeights" ? url.searchParams.get("model") : null;
      if (id !== null) {
        const kind = ort ? "ort" : "getWeights";
        count(kind, id);
        if (state.ortStalls) return new Promise<Response>(() => {});
        if (state.ortStatus) return Response.json({ error: "configured failure" }, { status: state.ortStatus });
        const entry = packages.get(id);
        const key = url.searchParams.get("api_key");
        if (!key && !entry?.model.public) return Response.json({ error: { message: "This method requires an API key" } }, { status: 401 });
        if (key && options.forbiddenKeys?.includes(key)) return Response.json({ error: { message: "Forbidden" } }, { status: 403 });
        if (key && !options.keys.includes(key)) return Response.json({ error: { message: "This API key does not exist (or has been revoked)." } }, { status: 401 });
        if (!entry) return Response.json({ error: { message: "Not found" } }, { status: 404 });
        const { model, pkg } = entry;
        // The package's COLORS travel as `colors` (the environment is served without them): the download puts them back.
        const colors = model.colors ?? (pkg.environment.COLORS as Record<string, string> | undefined);
        const modelType = model.modelType === undefined ? pkg.modelType.model_type : model.modelType;
        const signature = `X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Expires=3600&X-Goog-Signature=${"ab".repeat(32)}`;
        const weights = `${url.origin}/signed/weights/${token(id)}?${signature}`;
        const described = {
          ...(modelType === null ? {} : { modelType }),
          ...(pkg.classes ? { classes: pkg.classes } : {}),
          ...(colors ? { colors } : {}),
        };
        if (kind === "getWeights") {
          const { COLORS: _colors, ...environment } = pkg.environment;
          return Response.json({ name: id, taskType: pkg.modelType.project_task_type, ...described, modelFiles: { ort: { model: weights } }, environment });
        }
        return Response.json({
          ort: {
            name: id.split("/")[0],
            type: pkg.modelType.project_task_type,
            ...described,
            model: weights,
            environment: `${url.origin}/signed/environment/${token(id)}?${signature}`,
          },
        });
      }
      const signed = /^\/signed\/(weights|environment)\/([^/]+)$/.exec(url.pathname);
      if (signed && url.searchParams.has("X-Goog-Signature")) {
        const id = fromToken(signed[2]!);
        const entry = packages.get(id);
        if (!entry) return new Response("NoSuchKey", { status: 404 });
        count(signed[1]!, id);
        if (signed[1] === "environment") {
          const { COLORS: _colors, ...environment } = entry.pkg.environment;
          return Response.json(environment);
        }
        const bytes = entry.pkg.weights;
        const { delayMs, chunks, chunkDelayMs } = state.weightsPacing;
        // Unpaced, the weights go out whole with their Content-Length, as a storage bucket sends them; paced (or
        // undeclared), as a stream, which Bun sends chunked, without a length.
        const headers = { "content-type": "application/octet-stream" };
        if (delayMs === 0 && chunks === 1 && !entry.model.undeclaredLength) return new Response(bytes, { headers });
        const size = Math.ceil(bytes.length / chunks);
        const stream = new ReadableStream<Uint8Array>({
          async start(controller) {
            if (delayMs > 0) await Bun.sleep(delayMs);
            for (let offset = 0; offset < bytes.length; offset += size) {
              controller.enqueue(bytes.slice(offset, offset + size));
              if (chunkDelayMs > 0 && offset + size < bytes.length) await Bun.sleep(chunkDelayMs);
            }
            controller.close();
          },
        });
        return new Response(stream, { headers });
      }
      return new Response("not here", { status: 404 });
    },
  });

  return {
    url: `http://127.0.0.1:${server.port}`,
    hits: (kind, modelId) => hits.get(`${kind} ${modelId}`) ?? 0,
    requests,
    get weightsPacing() {
      return state.weightsPacing;
    },
    set weightsPacing(value) {
      state.weightsPacing = value;
    },
    get ortStatus() {
      return state.ortStatus;
    },
    set ortStatus(value) {
      state.ortStatus = value;
    },
    get ortStalls() {
      return state.ortStalls;
    },
    set ortStalls(value) {
      state.ortStalls = value;
    },
    stop: () => {
      if (stopped) return;
      stopped = true;
      void server.stop(true);
    },
  };
}
