// The typed API client. `schema.ts` is generated from the backend's OpenAPI document
// (`npm run gen:api`, run by `npm run build`); nothing here restates the API's shapes by hand.
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];
export type ApiErrorBody = Schemas["ErrorBody"];

function cookie(name: string): string | null {
  const m = document.cookie.split("; ").find((c) => c.startsWith(name + "="));
  return m ? decodeURIComponent(m.slice(name.length + 1)) : null;
}

// Browsers authenticate with the HttpOnly session cookie; unsafe methods echo the CSRF token
// from its readable companion cookie (security.md, "Sessions").
const csrf: Middleware = {
  onRequest({ request }) {
    if (!["GET", "HEAD", "OPTIONS"].includes(request.method)) {
      const token = cookie("pb_csrf");
      if (token) request.headers.set("X-CSRF-Token", token);
    }
    return request;
  },
};

export const api = createClient<paths>({ baseUrl: "", credentials: "same-origin" });
api.use(csrf);

/** An API error, with the stable code the UI switches on and the server's message. */
export class ApiError extends Error {
  constructor(
    public readonly status: number,
    public readonly code: string,
    message: string,
    public readonly param?: string | null,
  ) {
    super(message);
  }
}

/** Unwraps an openapi-fetch result: the data, or throws `ApiError`. */
export function unwrap<T>(r: { data?: T; error?: unknown; response: Response }): T {
  // 204 No Content (a revoked session, a deleted key) has no body: success all the same.
  if (r.response.ok) return r.data as T;
  const body = r.error as ApiErrorBody | undefined;
  const e = body?.error;
  throw new ApiError(r.response.status, e?.code ?? "network_error", e?.message ?? r.response.statusText, e?.param);
}

/** A fresh Idempotency-Key: one per attempt of one action, reused when that attempt is retried. */
export function newIdempotencyKey(): string {
  return crypto.randomUUID();
}
