// Execution provider fallback at the first run: a GPU provider that starts can still fail when it first runs.
//
// ONNX Runtime falls back from a provider that cannot be appended or cannot create the session (native-bindings/ort.ts).
// But the CUDA provider loads cuDNN, cuFFT and NVRTC lazily, so a missing one only shows when a node first needs it:
// the session exists and its first run fails. Here that run decides: when it fails on a GPU provider, the session is
// released and opened again with the providers listed after that one, until one runs (README "Docker and GPUs").

/** What the fallback needs of a session: the provider it runs on, why preferred ones did not start, and release. */
export interface FallbackSession {
  readonly activeProvider: string;
  readonly fallbacks: readonly string[];
  release(): void;
}

export interface RunnableSession<S> {
  session: S;
  /** Why each provider preferred to the session's did not start or did not run, in the order they were tried. */
  fallbacks: string[];
  /** The providers the session was opened with: its own and those after it (for a later fallback). */
  providers: string[];
}

const LABELS: Record<string, string> = { tensorrt: "TensorRT", cuda: "CUDA", cpu: "CPU" };

export function providerLabel(provider: string): string {
  return LABELS[provider] ?? provider;
}

/**
 * Opens a session with `open(providers)` and runs `firstRun` on it. When that run fails on a GPU provider, the session is
 * released, `onFallback` is told why, and the session is opened again with the providers after the failed one. A
 * failure on the CPU is the model's and is thrown as it is; so is a failure with no provider left to try, its message
 * naming every reason.
 */
export function openRunnableSession<S extends FallbackSession>(
  providers: readonly string[],
  open: (providers: string[]) => S,
  firstRun: (session: S) => void,
  onFallback: (reason: string, next: string) => void = () => {},
): RunnableSession<S> {
  let remaining = [...providers];
  const fallbacks: string[] = [];
  for (;;) {
    let session: S;
    try {
      session = open(remaining);
    } catch (error) {
      if (fallbacks.length === 0) throw error;
      throw new Error(`${(error as Error).message} (before that: ${fallbacks.join("; ")})`);
    }
    fallbacks.push(...session.fallbacks);
    try {
      firstRun(session);
      return { session, fallbacks, providers: remaining };
    } catch (error) {
      session.release();
      const provider = session.activeProvider;
      if (provider === "cpu") throw error;
      const reason = `${providerLabel(provider)}: failed at the first run: ${(error as Error).message}`;
      fallbacks.push(reason);
      remaining = remaining.slice(remaining.indexOf(provider) + 1);
      const next = remaining[0];
      if (next === undefined) throw new Error(`no execution provider left to try: ${fallbacks.join("; ")}`);
      onFallback(reason, next);
    }
  }
}
