// API documentation: the OpenAPI document at /openapi.json and an interactive page at /docs that needs no internet.
import { swagger } from "@elysiajs/swagger";
import { Elysia, t } from "elysia";
import { dirname, join } from "node:path";
import { COMPAT_VERSION } from "./ops.ts";

/** Swagger UI's static files come from the installed swagger-ui-dist package, never from a CDN. */
const ASSETS_DIR = dirname(Bun.resolveSync("swagger-ui-dist/package.json", import.meta.dir));
const ASSETS: Record<string, string> = {
  "swagger-ui.css": "text/css; charset=utf-8",
  "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
  "swagger-ui-standalone-preset.js": "text/javascript; charset=utf-8",
  "favicon-32x32.png": "image/png",
};

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8" />
  <meta name="viewport" content="width=device-width, initial-scale=1" />
  <title>Bun Inference Server API</title>
  <link rel="icon" href="/docs/assets/favicon-32x32.png" />
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css" />
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/docs/assets/swagger-ui-standalone-preset.js"></script>
  <script>
    window.ui = SwaggerUIBundle({
      url: "/openapi.json",
      dom_id: "#swagger-ui",
      presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
      layout: "BaseLayout",
      deepLinking: true,
    });
  </script>
</body>
</html>`;

export function docsRoutes() {
  return (
    new Elysia()
      .use(
        swagger({
          path: "/docs",
          specPath: "/openapi.json",
          exclude: ["/docs", /^\/docs\//],
          documentation: {
            info: {
              title: "Bun Inference Server",
              version: COMPAT_VERSION,
              description:
                'A drop-in, batching replacement for the Roboflow Inference HTTP API: object detection, instance segmentation and classification over ONNX Runtime. Errors answer `{"message": …}`. ' +
                "When SERVER_API_KEYS is set, every route but `/`, `/healthz`, `/readiness`, `/info`, `/metrics` and the docs needs one of its keys (401); bodies are limited by MAX_REQUEST_BYTES (413) and MAX_REQUEST_BYTES_IN_FLIGHT (503); " +
                "a CORS preflight (OPTIONS) from an origin CORS_ALLOWED_ORIGINS does not list gets 403.",
            },
            tags: [
              { name: "Inference", description: "Run models on images." },
              { name: "Legacy", description: "The hosted API's /{dataset}/{version} route." },
              { name: "Model management", description: "Load, list and unload models." },
              { name: "Operations", description: "Health, readiness, metrics, server info." },
            ],
          },
        }),
      )
      // Registered after the plugin, so this offline page replaces its CDN-based one.
      .get("/docs", () => new Response(PAGE, { headers: { "content-type": "text/html; charset=utf-8" } }), { detail: { hide: true } })
      .get(
        "/docs/assets/:file",
        ({ params, status }) => {
          const type = ASSETS[params.file];
          if (!type) return status(404, { message: "Not Found" });
          return new Response(Bun.file(join(ASSETS_DIR, params.file)), { headers: { "content-type": type, "cache-control": "public, max-age=86400" } });
        },
        { params: t.Object({ file: t.String() }), detail: { hide: true } },
      )
  );
}
