/**
 * The load generator's HTTP client: behaves as a careful real client (retries a 503 after its
 * Retry-After, a 5xx or a broken connection with back-off, always with an Idempotency-Key so a
 * retry never applies twice) and records every answer, so the run can count 5xx by route.
 */

export interface CallRecord {
  /** Start of the attempt, ms since the run's clock started. */
  at: number;
  ms: number;
  as: string;
  method: string;
  /** The path with ids replaced by `:id`. */
  route: string;
  /** 0 when the connection failed or timed out. */
  status: number;
  code?: string;
  message?: string;
  retryAfter?: string;
  /** A probe sent while a fault lasted, not part of the load. */
  probe?: boolean;
}

export interface Answer {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- API bodies are read freely here, as in the tests
  body: any;
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

export const routeOf = (method: string, path: string) => `${method} ${path.split('?')[0]!.replace(UUID, ':id')}`;

export class GaveUp extends Error {
  constructor(
    message: string,
    readonly last: Answer | undefined,
  ) {
    super(message);
    this.name = 'GaveUp';
  }
}

export class ApiClient {
  readonly calls: CallRecord[] = [];
  /** Once set, every call gives up at once (the run is over; scenarios still under way stop). */
  private aborted = false;

  constructor(
    private readonly apiUrl: string,
    private readonly tokens: Record<string, string>,
    /** ms on the run's clock. */
    private readonly clock: () => number,
    private readonly opts: { deadlineMs: number; timeoutMs: number },
  ) {}

  abort(): void {
    this.aborted = true;
  }

  /** One attempt, recorded; none once aborted. */
  async once(
    as: string,
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
    probe = false,
  ): Promise<Answer | undefined> {
    if (this.aborted) return undefined;
    const at = this.clock();
    const record: CallRecord = { at, ms: 0, as, method, route: routeOf(method, path), status: 0, ...(probe ? { probe } : {}) };
    this.calls.push(record);
    try {
      const res = await fetch(`${this.apiUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.tokens[as]}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.opts.timeoutMs),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        // not JSON
      }
      record.status = res.status;
      record.ms = this.clock() - at;
      const error = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
      if (error?.code) record.code = error.code;
      if (res.status >= 500 && error?.message) record.message = error.message;
      const retryAfter = res.headers.get('retry-after');
      if (retryAfter !== null) record.retryAfter = retryAfter;
      return { status: res.status, headers: res.headers, body: parsed };
    } catch (err) {
      record.ms = this.clock() - at;
      record.message = (err as Error).message;
      return undefined;
    }
  }

  /**
   * Retries a broken connection, 429 and 5xx (after Retry-After when given, capped at 5 s; else
   * 0.25 s doubling to 4 s) until the deadline; then throws GaveUp. Other answers are returned.
   */
  async call(
    as: string,
    method: string,
    path: string,
    opts: { body?: unknown; headers?: Record<string, string>; again?: (a: Answer) => boolean } = {},
  ): Promise<Answer> {
    const deadline = this.clock() + this.opts.deadlineMs;
    let wait = 250;
    let last: Answer | undefined;
    for (;;) {
      last = await this.once(as, method, path, opts.body, opts.headers);
      const retry = !last || last.status === 429 || last.status >= 500 || (opts.again?.(last) ?? false);
      if (!retry) return last!;
      if (this.aborted) throw new GaveUp(`${method} ${path}: the load was stopped`, last);
      if (this.clock() > deadline) {
        throw new GaveUp(
          `${method} ${path} still failing after ${this.opts.deadlineMs / 1000} s (last: ${last?.status ?? 'no answer'})`,
          last,
        );
      }
      const after = Number.parseInt(last?.headers.get('retry-after') ?? '', 10);
      const ms = Number.isFinite(after) ? Math.min(Math.max(after * 1000, 250), 5000) : wait;
      wait = Math.min(wait * 2, 4000);
      await sleep(ms);
    }
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
