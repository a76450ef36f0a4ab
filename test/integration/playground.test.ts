// Specification of the page at /: it lists the loaded models, and a newcomer who picks the example picture and presses
// Run sees the server's drawing beside its JSON, with every file served by us (headless Chromium drives the page).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BrowserPage, CHROMIUM } from "./chromium.ts";
import { startServerProcess, type ServerProcess } from "./server-process.ts";

if (!CHROMIUM) console.warn("playground: Debian's chromium is not installed (.ci/run installs it); skipping the browser check");

const cacheDir = mkdtempSync(join(tmpdir(), "playground-cache-"));
let server: ServerProcess;

beforeAll(async () => {
  server = await startServerProcess({ MODEL_CACHE_DIR: cacheDir, DEMO_MODEL_ID: "demo-shapes/1", PRELOAD_MODELS: "demo-shapes/1,demo-shapes-seg/1,demo-shapes-cls/1" });
}, 60_000);

afterAll(async () => {
  await server?.stop();
  rmSync(cacheDir, { recursive: true, force: true });
});

/** What the page says it is doing, shown when a wait times out. */
const STATUS = "document.getElementById('status').textContent";

describe("the page at /", () => {
  test("is served with its script, style and example picture, none from a CDN", async () => {
    const html = await (await fetch(`${server.url}/`)).text();
    expect(html).not.toMatch(/(src|href)="https?:/);
    for (const link of ["/docs", "/metrics"]) expect(html).toContain(`href="${link}"`);
    for (const asset of html.matchAll(/(?:src|href)="(\/playground\/[^"]+)"/g)) expect((await fetch(`${server.url}${asset[1]}`)).status).toBe(200);
    const example = await fetch(`${server.url}/playground/example.jpg`);
    expect(example.headers.get("content-type")).toBe("image/jpeg");
    expect((await fetch(`${server.url}/playground/..%2Fpackage.json`)).status).toBe(404);
    expect((await fetch(`${server.url}/playground/index.html`)).status).toBe(404);
  });

  test.skipIf(!CHROMIUM)(
    "runs the example picture through a model chosen on the page and shows the drawing beside the JSON",
    async () => {
      const page = await BrowserPage.open();
      try {
        await page.send("Page.navigate", { url: `${server.url}/` });
        await page.waitFor("document.querySelectorAll('#models input[type=radio]').length === 3", "the model list", STATUS);
        const models = await page.evaluate("document.getElementById('models').textContent");
        for (const text of ["demo-shapes/1", "object detection", "demo-shapes-seg/1", "instance segmentation", "demo-shapes-cls/1", "classification"])
          expect(models).toContain(text);

        await page.evaluate("document.getElementById('use-example').click()");
        await page.waitFor("!document.getElementById('run').disabled", "the example picture", STATUS);
        await page.evaluate("document.getElementById('run').click()");
        await page.waitFor("document.getElementById('result-image').naturalWidth > 0 && !document.getElementById('result').hidden", "the drawn result", STATUS);
        const detection = JSON.parse(await page.evaluate("document.getElementById('result-json').textContent"));
        expect(await page.evaluate("document.getElementById('result-image').naturalWidth")).toBe(1280);
        expect(detection.image).toEqual({ width: 1280, height: 720 });
        expect(detection.predictions.length).toBeGreaterThan(0);
        expect(detection.visualization).toMatch(/^<base64 JPEG, \d+ characters>$/);

        // The segmentation model, picked on the page, answers polygons; the mask mode is one of its options only.
        const maskModeShown = "document.getElementById('mask-mode').offsetParent !== null";
        expect(await page.evaluate(maskModeShown)).toBe(false);
        await page.evaluate("document.querySelector('#models input[value=\"demo-shapes-seg/1\"]').click()");
        expect(await page.evaluate(maskModeShown)).toBe(true);
        await page.evaluate("document.getElementById('result-json').textContent = ''; document.getElementById('run').click()");
        await page.waitFor("document.getElementById('result-json').textContent.includes('points')", "the segmentation answer", STATUS);
        const segmentation = JSON.parse(await page.evaluate("document.getElementById('result-json').textContent"));
        expect(segmentation.predictions[0].points.length).toBeGreaterThan(2);
      } finally {
        await page.close();
      }
    },
    90_000,
  );
});
