// Container health check (the Dockerfile's HEALTHCHECK): exits 0 when this server answers GET /healthz on $PORT, else 1.
const port = process.env.PORT || "9001";
try {
  const response = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(4000) });
  process.exit(response.ok ? 0 : 1);
} catch {
  process.exit(1);
}

// A module (for the top-level await), importing nothing: the image runs it with no dependencies.
export {};
