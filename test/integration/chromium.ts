// Headless Chromium for the tests of pages we serve (/docs, /): Debian's chromium, started with a throw-away profile
// and nothing that reaches the network on its own. .ci/run installs it; without it those tests are skipped.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p));

function chromiumCommand(profile: string, extra: string[]): string[] {
  if (!CHROMIUM) throw new Error("Debian's chromium is not installed");
  return [
    CHROMIUM,
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
    ...extra,
  ];
}

/** The DOM of `url` once its scripts have run for up to `virtualTimeMs` of virtual time. */
export async function renderedDom(url: string, virtualTimeMs = 15_000): Promise<string> {
  const profile = mkdtempSync(join(tmpdir(), "chromium-"));
  try {
    const proc = Bun.spawn(chromiumCommand(profile, [`--virtual-time-budget=${virtualTimeMs}`, "--dump-dom", url]), { stdout: "pipe", stderr: "ignore" });
    const dom = await new Response(proc.stdout).text();
    await proc.exited;
    return dom;
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

/** A Chrome DevTools Protocol session with one page of a browser it owns (https://chromedevtools.github.io/devtools-protocol/). */
export class BrowserPage {
  private next = 0;
  private readonly pending = new Map<number, { resolve: (value: any) => void; reject: (error: Error) => void }>();

  private constructor(
    private readonly socket: WebSocket,
    private readonly browser: ReturnType<typeof Bun.spawn>,
    private readonly profile: string,
  ) {
    socket.addEventListener("message", (event) => {
      const message = JSON.parse(String(event.data));
      const waiter = this.pending.get(message.id);
      if (!waiter) return;
      this.pending.delete(message.id);
      if (message.error) waiter.reject(new Error(message.error.message));
      else waiter.resolve(message.result);
    });
  }

  /** Starts a browser on a blank page and connects to it; `close()` ends both. */
  static async open(): Promise<BrowserPage> {
    const profile = mkdtempSync(join(tmpdir(), "chromium-"));
    const browser = Bun.spawn(chromiumCommand(profile, ["--remote-debugging-port=0", "about:blank"]), { stdout: "ignore", stderr: "ignore" });
    try {
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
      return new BrowserPage(socket, browser, profile);
    } catch (error) {
      browser.kill();
      await browser.exited;
      rmSync(profile, { recursive: true, force: true });
      throw error;
    }
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

  /** Polls `expression` until it is truthy; on timeout, says what `describe` evaluates to. */
  async waitFor(expression: string, what: string, describe: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await this.evaluate(expression))) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; ${describe}: ${await this.evaluate(describe)}`);
      await Bun.sleep(100);
    }
  }

  async close(): Promise<void> {
    this.socket.close();
    this.browser.kill();
    await this.browser.exited;
    rmSync(this.profile, { recursive: true, force: true });
  }
}
