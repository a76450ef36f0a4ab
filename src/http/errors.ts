// HTTP errors: every failure becomes a status and a {"message": …} body; no stack traces leave the server.
import { InferenceError } from "../errors.ts";

interface ValidationIssue {
  path?: string;
  summary?: string;
  message?: string;
}

/** The body and status for an error Elysia caught, keyed by its error code. */
export function errorResponse(code: string | number, error: unknown): Response {
  if (error instanceof InferenceError) return json(error.status, { message: error.message }, error.headers);
  if (code === "VALIDATION") {
    const issues = ((error as { all?: ValidationIssue[] }).all ?? []).slice(0, 10);
    const detail = issues.map((i) => ({ loc: ["body", ...(i.path ?? "").split("/").filter(Boolean)], msg: i.summary ?? i.message ?? "invalid" }));
    const first = detail[0];
    const message = first ? `Invalid request: ${first.msg}${first.loc.length > 1 ? ` (at ${first.loc.slice(1).join(".")})` : ""}` : "Invalid request.";
    return json(422, { message, detail });
  }
  if (code === "PARSE") return json(400, { message: "Malformed request body: expected JSON." });
  if (code === "NOT_FOUND") return json(404, { message: "Not Found" });
  console.error("unhandled error:", error);
  return json(500, { message: "Internal error." });
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });
}
