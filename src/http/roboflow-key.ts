// Roboflow API key of a request (docs/compatibility.md §2.1): the key a download of a model missing from the cache may use.
import { bearerKey } from "./guards/api-key.ts";
import type { HttpSettings } from "./settings.ts";

/**
 * The request's Roboflow API key, in the reference's order: for /infer/* and /model/add the `Authorization: Bearer`
 * header, else the body's `api_key` ("header-first"); for the legacy route and /start the `api_key` query parameter,
 * else the header ("own-first"). Null when there is none; the server's ROBOFLOW_API_KEY / API_KEY applies then.
 *
 * With SERVER_API_KEYS set, a request's key is this server's credential, not a Roboflow one: it is never sent on
 * to the Roboflow API (downloads use ROBOFLOW_API_KEY / API_KEY only).
 */
export function requestApiKey(settings: Pick<HttpSettings, "serverApiKeys">, request: Request, own: string | null | undefined, order: "header-first" | "own-first"): string | null {
  if (settings.serverApiKeys.length > 0) return null;
  const header = bearerKey(request) || null;
  const carried = own?.trim() || null;
  return order === "header-first" ? (header ?? carried) : (carried ?? header);
}
