/**
 * The `EventSource` the SSE transport reads from: the browser's, or {@link FetchEventSource}
 * (over `fetch` streaming) where there is none, as in Node 20.
 *
 * @module
 */
/** The part of the `EventSource` API the SSE transport uses (the browser's `EventSource` and {@link FetchEventSource} fit). */
export interface EventSourceLike {
  readonly readyState: number;
  onerror: ((event: unknown) => void) | null;
  addEventListener(type: string, listener: (event: { data: string; lastEventId?: string }) => void): void;
  close(): void;
}

/** An `EventSource` constructor: `globalThis.EventSource` in browsers, {@link FetchEventSource} in Node. */
export type EventSourceConstructor = new (url: string) => EventSourceLike;

/** The `fetch` function the SSE transport POSTs with (and probes `/health` with). */
export type FetchFunction = (input: string, init?: RequestInit) => Promise<Response>;

/**
 * A minimal `EventSource` over `fetch` streaming, for Node (20 has no `EventSource`) and tests:
 * it parses `event:`, `data:` and `id:` lines and dispatches named events. Unlike the browser's it
 * never reconnects by itself: when the response ends or fails it is closed and `onerror` runs
 * (the Tandem client reconnects and resumes itself).
 */
export class FetchEventSource implements EventSourceLike {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSED = 2;
  readyState = 0;
  onerror: ((event: unknown) => void) | null = null;
  onopen: ((event: unknown) => void) | null = null;
  /** The last `id:` seen. */
  lastEventId = '';
  private readonly listeners = new Map<string, Set<(event: { data: string; lastEventId?: string }) => void>>();
  private readonly abort = new AbortController();

  constructor(
    readonly url: string,
    init: { fetch?: FetchFunction; headers?: Record<string, string> } = {},
  ) {
    void this.run(init.fetch ?? ((i, o) => fetch(i, o)), init.headers ?? {});
  }

  addEventListener(type: string, listener: (event: { data: string; lastEventId?: string }) => void): void {
    let set = this.listeners.get(type);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(type, set);
    }
    set.add(listener);
  }

  close(): void {
    this.readyState = FetchEventSource.CLOSED;
    this.abort.abort();
  }

  private async run(fetchFn: FetchFunction, headers: Record<string, string>): Promise<void> {
    try {
      const res = await fetchFn(this.url, {
        headers: { Accept: 'text/event-stream', 'Cache-Control': 'no-cache', ...headers },
        signal: this.abort.signal,
      });
      const type = res.headers.get('content-type') ?? '';
      if (!res.ok || res.body === null || !type.startsWith('text/event-stream')) {
        await res.body?.cancel().catch(() => undefined);
        this.fail();
        return;
      }
      if (this.readyState === FetchEventSource.CLOSED) {
        await res.body.cancel().catch(() => undefined);
        return;
      }
      this.readyState = FetchEventSource.OPEN;
      this.onopen?.({});
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      let event = '';
      let data: string[] = [];
      for (;;) {
        const { done, value } = await reader.read();
        if (done) {
          break;
        }
        buffer += decoder.decode(value, { stream: true });
        let nl: number;
        while ((nl = buffer.search(/\r\n|\r|\n/)) >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(buffer[nl] === '\r' && buffer[nl + 1] === '\n' ? nl + 2 : nl + 1);
          if (line === '') {
            if (data.length > 0 && this.readyState === FetchEventSource.OPEN) {
              this.dispatch(event === '' ? 'message' : event, data.join('\n'));
            }
            event = '';
            data = [];
            continue;
          }
          if (line.startsWith(':')) {
            continue; // a comment (the server's heartbeat)
          }
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          let value = colon < 0 ? '' : line.slice(colon + 1);
          if (value.startsWith(' ')) {
            value = value.slice(1);
          }
          if (field === 'event') {
            event = value;
          } else if (field === 'data') {
            data.push(value);
          } else if (field === 'id' && !value.includes('\u0000')) {
            this.lastEventId = value;
          }
        }
      }
      this.fail();
    } catch {
      this.fail();
    }
  }

  private dispatch(type: string, data: string): void {
    for (const l of [...(this.listeners.get(type) ?? [])]) {
      try {
        l({ data, lastEventId: this.lastEventId });
      } catch {
        // a listener's failure is its own
      }
    }
  }

  private fail(): void {
    if (this.readyState === FetchEventSource.CLOSED) {
      return;
    }
    this.readyState = FetchEventSource.CLOSED;
    this.onerror?.({});
  }
}
