// Playground: the page at / where a newcomer tries the loaded models on a picture (README "Demo"). Its script uses the
// public API only; its files and the example picture are served from this repository, never from a CDN.
import { Elysia, t } from "elysia";
import { join } from "node:path";

const PAGE_DIR = join(import.meta.dir, "../playground");
const EXAMPLE_IMAGE = join(import.meta.dir, "../../../examples/shapes.jpg");

/** Files under /playground/, by name: where each comes from and its content type. */
const ASSETS: Record<string, { path: string; type: string }> = {
  "playground.js": { path: join(PAGE_DIR, "playground.js"), type: "text/javascript; charset=utf-8" },
  "playground.css": { path: join(PAGE_DIR, "playground.css"), type: "text/css; charset=utf-8" },
  "example.jpg": { path: EXAMPLE_IMAGE, type: "image/jpeg" },
};

export function playgroundRoutes() {
  return new Elysia()
    .get("/", () => new Response(Bun.file(join(PAGE_DIR, "index.html")), { headers: { "content-type": "text/html; charset=utf-8" } }), {
      detail: { tags: ["Operations"], summary: "Landing page", description: "A page to try the loaded models on a picture; clients also poll it for readiness." },
    })
    .get(
      "/playground/:file",
      ({ params, status }) => {
        const asset = ASSETS[params.file];
        if (!asset) return status(404, { message: "Not Found" });
        return new Response(Bun.file(asset.path), { headers: { "content-type": asset.type, "cache-control": "no-cache" } });
      },
      { params: t.Object({ file: t.String() }), detail: { hide: true } },
    );
}
