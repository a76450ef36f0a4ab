// Specification of the API documentation: a complete OpenAPI document, and an interactive page that renders with no internet.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { CHROMIUM, renderedDom } from "./chromium.ts";
import { FIXTURE_CACHE, startServerProcess, type ServerProcess } from "./server-process.ts";

if (!CHROMIUM) console.warn("docs: Debian's chromium is not installed (.ci/run installs it); skipping the rendering check");

let server: ServerProcess;

beforeAll(async () => {
  server = await startServerProcess({ MODEL_CACHE_DIR: FIXTURE_CACHE, PRELOAD_MODELS: "" });
});

afterAll(async () => {
  await server?.stop();
});

const ROUTES = [
  ["post", "/infer/object_detection"],
  ["post", "/infer/instance_segmentation"],
  ["post", "/infer/classification"],
  ["post", "/{dataset_id}/{version_id}"],
  ["get", "/model/registry"],
  ["post", "/model/add"],
  ["post", "/model/remove"],
  ["post", "/model/clear"],
  ["post", "/model/import"],
  ["get", "/info"],
  ["get", "/healthz"],
  ["get", "/readiness"],
  ["get", "/metrics"],
] as const;

describe("API documentation", () => {
  test("documents every route with a summary and a description, and request bodies with defaults", async () => {
    const doc = await (await fetch(`${server.url}/openapi.json`)).json();
    for (const [method, path] of ROUTES) {
      const operation = doc.paths[path]?.[method];
      expect(operation, `${method.toUpperCase()} ${path}`).toBeDefined();
      expect(operation.summary).toBeString();
    }
    const detection = doc.paths["/infer/object_detection"].post;
    expect(detection.description).toContain("batched");
    const schema = detection.requestBody.content["application/json"].schema;
    expect(schema.properties.confidence.default).toBe(0.4);
    expect(schema.properties.iou_threshold.default).toBe(0.3);
    expect(schema.properties.max_detections.default).toBe(300);
    expect(JSON.stringify(doc.paths["/docs"] ?? null)).toBe("null");
  });

  test("lists the guards' answers: 401 on every route behind SERVER_API_KEYS, 413 and 503 on every route that reads a body, 507 where a model package is written", async () => {
    const doc = await (await fetch(`${server.url}/openapi.json`)).json();
    const open = new Set(["/info", "/healthz", "/readiness", "/metrics"]);
    for (const [method, path] of ROUTES) {
      const responses = doc.paths[path][method].responses;
      if (!open.has(path)) expect(responses["401"]?.description, `${method.toUpperCase()} ${path}`).toContain("SERVER_API_KEYS");
      if (method === "post") {
        expect(responses["413"]?.description, `${method.toUpperCase()} ${path}`).toContain("MAX_REQUEST_BYTES");
        expect(responses["503"]?.description, `${method.toUpperCase()} ${path}`).toContain("MAX_REQUEST_BYTES_IN_FLIGHT");
      }
    }
    for (const path of ["/infer/object_detection", "/model/add", "/model/import"]) expect(doc.paths[path].post.responses["507"].description).toContain("MODEL_CACHE_DIR");
    expect(doc.paths["/model/add"].post.responses["403"].description).toContain("Roboflow API");
  });

  test("serves the docs page and its assets from the server itself, not from a CDN", async () => {
    const html = await (await fetch(`${server.url}/docs`)).text();
    expect(html).not.toMatch(/(src|href)="https?:/);
    for (const asset of html.matchAll(/(?:src|href)="(\/docs\/assets\/[^"]+)"/g)) {
      const res = await fetch(`${server.url}${asset[1]}`);
      expect(res.status).toBe(200);
    }
    expect((await fetch(`${server.url}/docs/assets/..%2Fpackage.json`)).status).toBe(404);
  });

  test.skipIf(!CHROMIUM)("renders the route list in headless Chromium", async () => {
    const dom = await renderedDom(`${server.url}/docs`);
    // Swagger UI renders one "opblock" per operation once it has fetched and parsed /openapi.json.
    expect(dom).toContain("opblock");
    for (const path of ["/infer/object_detection", "/infer/classification", "/model/registry"]) expect(dom).toContain(path);
  });
});
