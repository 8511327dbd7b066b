/**
 * The page's only way to the server: the public /api/v1 on its own origin, with the bearer token
 * of the session. Errors keep the API's own code, message and details, so the page can show the
 * server's words next to the fields they name.
 */

/** One entry of an error's `details`: usually `{path, message}` (paths such as `steps.0.assignees`). */
export interface ErrorDetail {
  path?: string;
  message?: string;
  [key: string]: unknown;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: ErrorDetail[] = [],
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

let bearer: string | null = null;
let onUnauthorized: (() => void) | null = null;

/** Sets the token every call sends, and what to do when the server no longer accepts it. */
export function setBearer(token: string | null, unauthorized: (() => void) | null = null): void {
  bearer = token;
  onUnauthorized = unauthorized;
}

export interface Answer<T> {
  data: T;
  etag: string | null;
  status: number;
}

export interface CallOptions {
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Use this token instead of the session's (sign-in checks a token before keeping it). */
  token?: string;
}

function headersFor(opts: CallOptions, accept = 'application/json'): Record<string, string> {
  const token = opts.token ?? bearer;
  return {
    accept,
    ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
    ...(token ? { authorization: `Bearer ${token}` } : {}),
    ...opts.headers,
  };
}

async function errorOf(res: Response): Promise<ApiError> {
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  const error = (body as { error?: { code?: string; message?: string; details?: ErrorDetail[] } } | undefined)?.error;
  return new ApiError(
    res.status,
    error?.code ?? `http_${res.status}`,
    error?.message ?? `The server answered ${res.status} ${res.statusText}`,
    Array.isArray(error?.details) ? error.details : [],
  );
}

/** Calls `/api/v1<path>`; throws ApiError with the server's words for any answer but 2xx. */
export async function call<T>(method: string, path: string, opts: CallOptions = {}): Promise<Answer<T>> {
  let res: Response;
  try {
    res = await fetch(`/api/v1${path}`, {
      method,
      headers: headersFor(opts),
      ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, 'network', 'The server cannot be reached; check your connection and try again');
  }
  if (!res.ok) {
    const error = await errorOf(res);
    if (res.status === 401 && !opts.token) onUnauthorized?.();
    throw error;
  }
  const text = res.status === 204 ? '' : await res.text();
  return { data: (text ? JSON.parse(text) : undefined) as T, etag: res.headers.get('etag'), status: res.status };
}

/** GETs started before the page asked for them (see prefetch), by path, with the token they used. */
const early = new Map<string, { token: string; answer: Promise<Answer<unknown>> }>();

/**
 * Starts a GET now that the page will ask for once signed in (the work queue's first page, beside
 * the sign-in check instead of after it). The first `get` of the same path with the same token
 * takes the answer; any other token, or a second `get`, asks the server itself.
 */
export function prefetch(path: string, token: string): void {
  const answer = call<unknown>('GET', path, { token });
  answer.catch(() => undefined);
  early.set(path, { token, answer });
}

/** GET `/api/v1<path>` (or the answer a prefetch of it already has on the way). */
export function get<T>(path: string, opts?: CallOptions): Promise<Answer<T>> {
  const started = early.get(path);
  if (started) {
    early.delete(path);
    if (!opts && started.token === bearer) return started.answer as Promise<Answer<T>>;
  }
  return call<T>('GET', path, opts);
}

/** A binary answer (the original document) fetched with the bearer token, as a Blob and its file name. */
export async function download(path: string): Promise<{ blob: Blob; filename: string }> {
  const res = await fetch(`/api/v1${path}`, { headers: headersFor({}, '*/*') });
  if (!res.ok) throw await errorOf(res);
  const disposition = res.headers.get('content-disposition') ?? '';
  const filename = /filename="([^"]+)"/.exec(disposition)?.[1] ?? 'document';
  return { blob: await res.blob(), filename };
}

/**
 * POST answered as NDJSON (`Accept: application/x-ndjson`): calls `onLine` for every line as it
 * arrives, so a long batch can show its progress.
 */
export async function streamLines(path: string, body: unknown, onLine: (line: Record<string, unknown>) => void): Promise<void> {
  let res: Response;
  try {
    res = await fetch(`/api/v1${path}`, {
      method: 'POST',
      headers: headersFor({ body }, 'application/x-ndjson'),
      body: JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'network', 'The server cannot be reached; check your connection and try again');
  }
  if (!res.ok || !res.body) {
    const error = await errorOf(res);
    if (res.status === 401) onUnauthorized?.();
    throw error;
  }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (value) buffered += value;
    let newline = buffered.indexOf('\n');
    while (newline >= 0) {
      const line = buffered.slice(0, newline).trim();
      buffered = buffered.slice(newline + 1);
      if (line) onLine(JSON.parse(line) as Record<string, unknown>);
      newline = buffered.indexOf('\n');
    }
    if (done) break;
  }
  if (buffered.trim()) onLine(JSON.parse(buffered) as Record<string, unknown>);
}

/** Every item of a paged list (`{items, nextCursor}`), for the short master-data lists the forms pick from. */
export async function all<T>(path: string, max = 2000): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const page: Answer<{ items: T[]; nextCursor: string | null }> = await get(
      `${path}${sep}limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    items.push(...page.data.items);
    cursor = page.data.nextCursor;
  } while (cursor && items.length < max);
  return items;
}
