// Specification of the page at /: it lists the loaded models, and a newcomer who picks the example picture and presses
// Run sees the server's drawing beside its JSON, with every file served by us (headless Chromium drives the page).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServerProcess, type ServerProcess } from "./server-process.ts";

const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p));
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

/** A Chrome DevTools Protocol session with one page (https://chromedevtools.github.io/devtools-protocol/). */
class DevTools {
  private next = 0;
  private readonly pending = new Map<number, { resolve: (value: any) => void; reject: (error: Error) => void }>();

  private constructor(private readonly socket: WebSocket) {
    socket.addEventListener("message", (event) => {
      const message = JSON.parse(String(event.data));
      const waiter = this.pending.get(message.id);
      if (!waiter) return;
      this.pending.delete(message.id);
      if (message.error) waiter.reject(new Error(message.error.message));
      else waiter.resolve(message.result);
    });
  }

  static async connect(profile: string): Promise<DevTools> {
    const portFile = join(profile, "DevToolsActivePort");
    const deadline = Date.now() + 20_000;
    while (!existsSync(portFile) || readFileSync(portFile, "utf8").split("\n").length < 2) {
      if (Date.now() > deadline) throw new Error("Chromium did not open its DevTools port");
      await Bun.sleep(100);
    }
    const port = readFileSync(portFile, "utf8").split("\n")[0];
    const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as { type: string; webSocketDebuggerUrl: string }[];
    const socket = new WebSocket(targets.find((t) => t.type === "page")!.webSocketDebuggerUrl);
    await new Promise((resolve, reject) => {
      socket.addEventListener("open", resolve);
      socket.addEventListener("error", reject);
    });
    return new DevTools(socket);
  }

  send(method: string, params: object = {}): Promise<any> {
    const id = ++this.next;
    this.socket.send(JSON.stringify({ id, method, params }));
    return new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
  }

  async evaluate(expression: string): Promise<any> {
    const result = await this.send("Runtime.evaluate", { expression, returnByValue: true, awaitPromise: true });
    if (result.exceptionDetails) throw new Error(`${expression}: ${result.exceptionDetails.exception?.description ?? result.exceptionDetails.text}`);
    return result.result.value;
  }

  /** Polls `expression` until it is truthy. */
  async waitFor(expression: string, what: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await this.evaluate(expression))) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; status: ${await this.evaluate("document.getElementById('status').textContent")}`);
      await Bun.sleep(100);
    }
  }

  close(): void {
    this.socket.close();
  }
}

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
      const profile = mkdtempSync(join(tmpdir(), "chromium-"));
      const browser = Bun.spawn(
        [
          CHROMIUM!,
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-dev-shm-usage",
          "--no-first-run",
          "--disable-quic",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
          `--user-data-dir=${profile}`,
          "--remote-debugging-port=0",
          "about:blank",
        ],
        { stdout: "ignore", stderr: "ignore" },
      );
      const page = await DevTools.connect(profile);
      try {
        await page.send("Page.navigate", { url: `${server.url}/` });
        await page.waitFor("document.querySelectorAll('#models input[type=radio]').length === 3", "the model list");
        const models = await page.evaluate("document.getElementById('models').textContent");
        for (const text of ["demo-shapes/1", "object detection", "demo-shapes-seg/1", "instance segmentation", "demo-shapes-cls/1", "classification"])
          expect(models).toContain(text);

        await page.evaluate("document.getElementById('use-example').click()");
        await page.waitFor("!document.getElementById('run').disabled", "the example picture");
        await page.evaluate("document.getElementById('run').click()");
        await page.waitFor("document.getElementById('result-image').naturalWidth > 0 && !document.getElementById('result').hidden", "the drawn result");
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
        await page.waitFor("document.getElementById('result-json').textContent.includes('points')", "the segmentation answer");
        const segmentation = JSON.parse(await page.evaluate("document.getElementById('result-json').textContent"));
        expect(segmentation.predictions[0].points.length).toBeGreaterThan(2);
      } finally {
        page.close();
        browser.kill();
        await browser.exited;
        rmSync(profile, { recursive: true, force: true });
      }
    },
    90_000,
  );
});
