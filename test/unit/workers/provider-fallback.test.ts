// Specification of the fallback at the first run: a session whose GPU provider started but cannot run gives way to the providers after it.
import { describe, expect, test } from "bun:test";
import { openRunnableSession, type FallbackSession } from "../../../src/workers/provider-fallback.ts";

/** A stand-in session: it runs on the first provider it is opened with that is not refused at start. */
class FakeSession implements FallbackSession {
  released = false;
  constructor(
    readonly activeProvider: string,
    readonly fallbacks: readonly string[],
  ) {}
  release(): void {
    this.released = true;
  }
}

/** Opens on the first provider not in `refused` (reasons as ORT would give them), recording every list it was given. */
function opener(refused: Record<string, string> = {}) {
  const opened: { providers: string[]; session: FakeSession }[] = [];
  const open = (providers: string[]) => {
    const fallbacks = [];
    for (const provider of providers) {
      if (!(provider in refused)) {
        const session = new FakeSession(provider, fallbacks);
        opened.push({ providers, session });
        return session;
      }
      fallbacks.push(`${provider}: ${refused[provider]}`);
    }
    throw new Error(`${providers.join(", ")} requested but unavailable: ${fallbacks.join("; ")}`);
  };
  return { open, opened };
}

/** A first run that fails on the given providers. */
const failsOn = (failures: Record<string, string>) => (session: FakeSession) => {
  const failure = failures[session.activeProvider];
  if (failure) throw new Error(failure);
};

describe("openRunnableSession", () => {
  test("keeps the first session when its first run succeeds", () => {
    const { open, opened } = opener();
    const result = openRunnableSession(["cuda", "cpu"], open, () => {});
    expect(result.session.activeProvider).toBe("cuda");
    expect(result).toMatchObject({ fallbacks: [], providers: ["cuda", "cpu"] });
    expect(opened).toHaveLength(1);
  });

  test("releases a session whose first run fails on a GPU provider and opens it again on the providers after that one", () => {
    const { open, opened } = opener();
    const told: string[] = [];
    const result = openRunnableSession(["tensorrt", "cuda", "cpu"], open, failsOn({ tensorrt: "engine build failed", cuda: "cuDNN library was not found" }), (reason, next) =>
      told.push(`${reason} -> ${next}`),
    );
    expect(opened.map((o) => o.providers)).toEqual([["tensorrt", "cuda", "cpu"], ["cuda", "cpu"], ["cpu"]]);
    expect(opened.map((o) => o.session.released)).toEqual([true, true, false]);
    expect(result.session.activeProvider).toBe("cpu");
    expect(result.providers).toEqual(["cpu"]);
    expect(result.fallbacks).toEqual(["TensorRT: failed at the first run: engine build failed", "CUDA: failed at the first run: cuDNN library was not found"]);
    expect(told).toEqual(["TensorRT: failed at the first run: engine build failed -> cuda", "CUDA: failed at the first run: cuDNN library was not found -> cpu"]);
  });

  test("keeps the reasons providers did not start for, in the order they were tried", () => {
    const { open } = opener({ tensorrt: "libnvinfer.so.10: cannot open shared object file" });
    const result = openRunnableSession(["tensorrt", "cuda", "cpu"], open, failsOn({ cuda: "NVRTC library could not be loaded" }));
    expect(result.session.activeProvider).toBe("cpu");
    expect(result.fallbacks).toEqual(["tensorrt: libnvinfer.so.10: cannot open shared object file", "CUDA: failed at the first run: NVRTC library could not be loaded"]);
  });

  test("throws a failure on the CPU as it is: the model, not the provider, is broken", () => {
    const { open, opened } = opener();
    expect(() => openRunnableSession(["cuda", "cpu"], open, failsOn({ cuda: "cuDNN library was not found", cpu: "Invalid rank for input" }))).toThrow(/^Invalid rank for input$/);
    expect(opened.every((o) => o.session.released)).toBe(true);
  });

  test("refuses, naming every reason, when the failing provider was the last one allowed", () => {
    const { open } = opener();
    expect(() => openRunnableSession(["cuda"], open, failsOn({ cuda: "cuDNN library was not found" }))).toThrow(
      "no execution provider left to try: CUDA: failed at the first run: cuDNN library was not found",
    );
  });

  test("adds the first-run reasons to the error when no provider after the failed one starts", () => {
    const { open } = opener({ cuda: "libcublasLt.so.13: cannot open shared object file" });
    expect(() => openRunnableSession(["tensorrt", "cuda"], open, failsOn({ tensorrt: "engine build failed" }))).toThrow(
      "cuda requested but unavailable: cuda: libcublasLt.so.13: cannot open shared object file (before that: TensorRT: failed at the first run: engine build failed)",
    );
  });
});
