// HTTP errors: every failure becomes a status and a {"message": …} body; no stack traces leave the server.
import { HttpError } from "../errors.ts";

interface SchemaLike {
  type?: string;
  const?: unknown;
  format?: string;
  minimum?: number;
  maximum?: number;
  anyOf?: SchemaLike[];
}

interface ValidationIssue {
  path?: string;
  summary?: string;
  message?: string;
  schema?: SchemaLike;
}

/** "a number in [0, 1] or \"best\"" for a bounded schema (Elysia's own summary names only the types), else null. */
function expectedValue(schema: SchemaLike | undefined): string | null {
  if (!schema) return null;
  // Elysia pairs each number with a numeric-string twin (format set): one of them is enough to name.
  const members = (schema.anyOf ?? [schema]).filter((m) => !(m.type === "string" && m.format));
  if (!members.some((m) => m.minimum !== undefined || m.maximum !== undefined)) return null;
  const words = members.map((m) => {
    if (m.const !== undefined) return JSON.stringify(m.const);
    const kind = m.type === "integer" ? "an integer" : m.type === "number" ? "a number" : `a ${m.type ?? "value"}`;
    if (m.minimum !== undefined && m.maximum !== undefined) return `${kind} in [${m.minimum}, ${m.maximum}]`;
    if (m.minimum !== undefined) return `${kind} >= ${m.minimum}`;
    if (m.maximum !== undefined) return `${kind} <= ${m.maximum}`;
    return kind;
  });
  return words.length === 1 ? words[0]! : `${words.slice(0, -1).join(", ")} or ${words.at(-1)}`;
}

function issueText(issue: ValidationIssue): string {
  const expected = expectedValue(issue.schema);
  const name = (issue.path ?? "").split("/").filter(Boolean).at(-1);
  if (expected && name) return `Property '${name}' must be ${expected}`;
  return issue.summary ?? issue.message ?? "invalid";
}

/** The body and status for an error Elysia caught, keyed by its error code. */
export function errorResponse(code: string | number, error: unknown): Response {
  if (error instanceof HttpError) return json(error.status, { message: error.message }, error.headers);
  if (code === "VALIDATION" && (error as { type?: string }).type === "response") {
    // A response that does not fit its schema is our bug, not the client's.
    console.error("response failed its schema:", (error as Error).message.slice(0, 2_000));
    return json(500, { message: "Internal error." });
  }
  if (code === "VALIDATION") {
    const issues = ((error as { all?: ValidationIssue[] }).all ?? []).slice(0, 10);
    const detail = issues.map((i) => ({ loc: ["body", ...(i.path ?? "").split("/").filter(Boolean)], msg: issueText(i) }));
    const first = detail[0];
    const message = first ? `Invalid request: ${first.msg}${first.loc.length > 1 ? ` (at ${first.loc.slice(1).join(".")})` : ""}` : "Invalid request.";
    return json(422, { message, detail });
  }
  if (code === "PARSE") {
    // Reading the body failed for a reason of ours (e.g. a chunked body over MAX_REQUEST_BYTES).
    const cause = (error as { cause?: unknown }).cause;
    if (cause instanceof HttpError) return json(cause.status, { message: cause.message }, cause.headers);
    return json(400, { message: "Malformed request body: expected JSON." });
  }
  if (code === "NOT_FOUND") return json(404, { message: "Not Found" });
  console.error("unhandled error:", error);
  return json(500, { message: "Internal error." });
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });
}
