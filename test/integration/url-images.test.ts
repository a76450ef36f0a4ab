// Specification of `url` image input over real HTTP: the policy, the download limits and the legacy `image` query.
//
// A local image host on 127.0.0.1 stands in for the internet (no other network exists here).
// One server keeps the address rule on (loopback refused); the other opens it for 127.0.0.1
// only, through the allow list, with small limits so that each failure is quick.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import sharp from "sharp";
import { FIXTURE_CACHE, startServerProcess, type ServerProcess } from "./server-process.ts";

const PREFIX = "Could not load input image. Cause: ";
const WIDTH = 48;
const HEIGHT = 32;

let guarded: ServerProcess;
let open: ServerProcess;
let imageHost: ReturnType<typeof Bun.serve>;
let png: Buffer;
let origin: string;
const hits = new Map<string, number>();

beforeAll(async () => {
  // Mean colour (230, 128, 240): a class-0 box with score ~0.94 as well as the fixed class-1 box.
  png = await sharp({ create: { width: WIDTH, height: HEIGHT, channels: 3, background: { r: 230, g: 128, b: 240 } } })
    .png()
    .toBuffer();
  imageHost = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 30,
    fetch(request) {
      const url = new URL(request.url);
      hits.set(url.pathname, (hits.get(url.pathname) ?? 0) + 1);
      if (url.pathname === "/img.png") return new Response(new Uint8Array(png), { headers: { "content-type": "image/png" } });
      if (url.pathname === "/big.png") return new Response(new Uint8Array(200_000), { headers: { "content-type": "image/png" } });
      if (url.pathname === "/hang.png") return new Promise<Response>(() => {});
      if (url.pathname === "/slow.png") return Bun.sleep(700).then(() => new Response(new Uint8Array(png)));
      if (url.pathname === "/to") return new Response(null, { status: 302, headers: { location: url.searchParams.get("url")! } });
      const chain = /^\/chain\/(\d+)$/.exec(url.pathname);
      if (chain) return new Response(null, { status: 302, headers: { location: Number(chain[1]) > 0 ? `/chain/${Number(chain[1]) - 1}` : "/img.png" } });
      return new Response("not here", { status: 404 });
    },
  });
  origin = `http://127.0.0.1:${imageHost.port}`;
  const common = { MODEL_CACHE_DIR: FIXTURE_CACHE, PRELOAD_MODELS: "colour-probe/1", ALLOW_NON_HTTPS_URL_INPUT: "true", ALLOW_URL_INPUT_WITHOUT_FQDN: "true" };
  [guarded, open] = await Promise.all([
    startServerProcess(common),
    startServerProcess({
      ...common,
      ALLOW_URL_INPUT_PRIVATE_ADDRESSES: "true",
      WHITELISTED_DESTINATIONS_FOR_URL_INPUT: "127.0.0.1",
      URL_INPUT_MAX_REDIRECTS: "3",
      URL_INPUT_TIMEOUT_MS: "1500",
      URL_INPUT_MAX_BYTES: "100000",
      URL_INPUT_MAX_CONCURRENT: "2",
    }),
  ]);
});

afterAll(async () => {
  await Promise.all([guarded?.stop(), open?.stop()]);
  imageHost?.stop(true);
});

const detect = (server: ServerProcess, value: string) => server.post("/infer/object_detection", { model_id: "colour-probe/1", image: { type: "url", value } });

/** The answer without the fields that differ between two runs of one image. */
function comparable(body: any) {
  const { inference_id, time, ...rest } = body;
  return { ...rest, predictions: rest.predictions.map(({ detection_id, ...p }: any) => p) };
}

async function expectRefusal(response: Response, message: string) {
  expect(response.status).toBe(400);
  expect(await response.json()).toEqual({ message: PREFIX + message });
}

describe("the address rule (on by default)", () => {
  test("a URL pointing at 127.0.0.1 gets 400 naming the loopback address, and nothing is requested", async () => {
    hits.clear();
    for (const value of [`${origin}/img.png`, `http://localhost:${imageHost.port}/img.png`, `http://[::ffff:127.0.0.1]:${imageHost.port}/img.png`]) {
      await expectRefusal(await detect(guarded, value), "It is not allowed to reach image URL - it points at a loopback address, prohibited by server configuration.");
    }
    expect(hits.size).toBe(0);
  });

  test("a file-type image stays refused", async () => {
    const res = await guarded.post("/infer/object_detection", { model_id: "colour-probe/1", image: { type: "file", value: "/etc/hostname" } });
    expect(res.status).toBe(400);
  });
});

describe("with the address rule opened for 127.0.0.1", () => {
  test("/infer/object_detection answers for a url image as for the same image in base64", async () => {
    const fromUrl = await detect(open, `${origin}/img.png`);
    expect(fromUrl.status).toBe(200);
    const body = await fromUrl.json();
    expect(body.image).toEqual({ width: WIDTH, height: HEIGHT });
    expect(body.predictions.map((p: any) => p.class_id).sort()).toEqual([0, 1]);
    const fromBase64 = await open.post("/infer/object_detection", { model_id: "colour-probe/1", image: { type: "base64", value: png.toString("base64") } });
    expect(comparable(body)).toEqual(comparable(await fromBase64.json()));
  });

  test("a list mixing url and base64 images is answered in order", async () => {
    const res = await open.post("/infer/object_detection", {
      model_id: "colour-probe/1",
      image: [
        { type: "url", value: `${origin}/img.png` },
        { type: "base64", value: png.toString("base64") },
        { type: "URL", value: `${origin}/chain/1` },
      ],
    });
    expect(res.status).toBe(200);
    const bodies = await res.json();
    expect(bodies.map((b: any) => b.image)).toEqual([1, 2, 3].map(() => ({ width: WIDTH, height: HEIGHT })));
  });

  test("the legacy route reads the `image` query parameter as a URL (POST and GET), and ignores the body", async () => {
    const query = `?image=${encodeURIComponent(`${origin}/img.png`)}`;
    const posted = await fetch(`${open.url}/colour-probe/1${query}`, { method: "POST" });
    expect(posted.status).toBe(200);
    expect((await posted.json()).image).toEqual({ width: WIDTH, height: HEIGHT });
    const got = await fetch(`${open.url}/colour-probe/1${query}&confidence=50`);
    expect(got.status).toBe(200);
    expect((await got.json()).image).toEqual({ width: WIDTH, height: HEIGHT });
  });

  test("a visualisation reuses the downloaded bytes: the image is fetched once", async () => {
    hits.clear();
    const res = await fetch(`${open.url}/colour-probe/1?format=image&image=${encodeURIComponent(`${origin}/img.png`)}`, { method: "POST" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/jpeg");
    const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
    expect({ width: meta.width, height: meta.height }).toEqual({ width: WIDTH, height: HEIGHT });
    expect(hits.get("/img.png")).toBe(1);
  });

  test("redirects within the limit are followed; a longer chain gets 400", async () => {
    // /chain/n answers n + 1 redirects before the image.
    expect((await detect(open, `${origin}/chain/2`)).status).toBe(200);
    await expectRefusal(await detect(open, `${origin}/chain/3`), "Data pointed by URL could not be loaded: more than 3 redirects.");
  });

  test("a 404 gets 400 naming the status", async () => {
    await expectRefusal(await detect(open, `${origin}/missing.png`), "Data pointed by URL could not be loaded: the server answered HTTP 404 Not Found.");
  });

  test("a body over URL_INPUT_MAX_BYTES gets 400", async () => {
    await expectRefusal(await detect(open, `${origin}/big.png`), "Data pointed by URL could not be loaded: the image is larger than the 100000 bytes this server accepts.");
  });

  test("a server that never answers gets 400 at URL_INPUT_TIMEOUT_MS", async () => {
    const started = performance.now();
    await expectRefusal(await detect(open, `${origin}/hang.png`), "Data pointed by URL could not be loaded: no complete answer within 1500 ms.");
    expect(performance.now() - started).toBeLessThan(5000);
  });

  test("a redirect from the allowed host to a refused destination is refused", async () => {
    hits.clear();
    for (const target of ["http://169.254.169.254/latest/meta-data/", `http://localhost:${imageHost.port}/img.png`]) {
      await expectRefusal(await detect(open, `${origin}/to?url=${encodeURIComponent(target)}`), "It is not allowed to reach image URL - prohibited by whitelisted destinations.");
    }
    expect(hits.get("/img.png")).toBeUndefined();
  });

  test("downloads beyond URL_INPUT_MAX_CONCURRENT get 503 (they hold no arena slot, so they are bounded on their own)", async () => {
    const answers = await Promise.all([1, 2, 3].map(() => detect(open, `${origin}/slow.png`)));
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([200, 200, 503]);
    const refused = answers.find((a) => a.status === 503)!;
    expect(refused.headers.get("retry-after")).toBe("1");
    expect((await refused.json()).message).toBe("Server is downloading as many URL images as it may at once. Retry later.");
  });

  test("a URL that is not a URL, or not http(s), gets 400", async () => {
    await expectRefusal(await detect(open, "not a url"), "Provided image URL is invalid");
    await expectRefusal(await detect(open, "ftp://127.0.0.1/img.png"), "Providing images via URL is only supported for http:// and https:// URLs.");
  });
});
