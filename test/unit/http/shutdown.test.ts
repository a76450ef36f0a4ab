// Specification of the shutdown drain: admitted requests finish, new ones get 503 with Connection: close meanwhile.
import { describe, expect, test } from "bun:test";
import type { Server } from "bun";
import { earlyAnswer } from "../../../src/http/guards/early-answer.ts";
import { ShutdownDrain } from "../../../src/http/shutdown.ts";

const server = {} as Server<undefined>;
const request = () => new Request("http://localhost/infer/object_detection", { method: "POST", body: "{}" });

describe("ShutdownDrain", () => {
  test("resolves at once with nothing in flight", async () => {
    await new ShutdownDrain(earlyAnswer()).drain();
  });

  test("waits for the admitted requests, refusing new ones with 503, Retry-After and Connection: close meanwhile", async () => {
    const drain = new ShutdownDrain(earlyAnswer());
    let finish = () => {};
    const slow = drain.wrap(() => new Promise<Response>((resolve) => (finish = () => resolve(new Response("done")))));
    const admitted = slow(request(), server);
    expect(drain.admitted).toBe(1);
    let drained = false;
    const draining = drain.drain().then(() => (drained = true));
    const refused = await slow(request(), server);
    expect(refused.status).toBe(503);
    expect(refused.headers.get("connection")).toBe("close");
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(await refused.json()).toEqual({ message: "Server is shutting down. Retry on another connection." });
    await Bun.sleep(10);
    expect(drained).toBe(false);
    finish();
    expect(await (await admitted).text()).toBe("done");
    await draining;
    expect(drain.admitted).toBe(0);
  });

  test("counts a request whose handler fails as answered", async () => {
    const drain = new ShutdownDrain(earlyAnswer());
    const failing = drain.wrap(async () => {
      throw new Error("boom");
    });
    await expect(failing(request(), server)).rejects.toThrow("boom");
    expect(drain.admitted).toBe(0);
  });
});
