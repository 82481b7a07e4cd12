/** Clients for tests: `ws` as the WebSocket, development tokens, quiet logs. */
import WebSocket from 'ws';
import { TandemClient, type TandemClientOptions, type TokenReason } from '@tandem/client';
import { mintToken, type TokenClaims } from './gateway.js';

/** The `ws` package's WebSocket, passed to the client as it is (no cast: the option's type is structural). */
export const NodeWebSocket = WebSocket;

/** Log lines of a test client, kept for assertions and failure messages. */
export class LogSink {
  readonly lines: string[] = [];
  readonly logger = {
    debug: (m: string) => this.lines.push(`debug ${m}`),
    info: (m: string) => this.lines.push(`info ${m}`),
    warn: (m: string) => this.lines.push(`warn ${m}`),
    error: (m: string, ...d: unknown[]) => this.lines.push(`error ${m} ${d.map(String).join(' ')}`),
  };
}

/** A client with a development token for `claims`; `tokens` records every reason getToken was called with. */
export function testClient(
  url: string,
  claims: TokenClaims,
  options: Partial<TandemClientOptions> = {},
): { client: TandemClient; tokens: TokenReason[]; log: LogSink } {
  const tokens: TokenReason[] = [];
  const log = new LogSink();
  const client = new TandemClient({
    url,
    WebSocket: NodeWebSocket,
    getToken: (reason) => {
      tokens.push(reason);
      return mintToken(claims);
    },
    logger: log.logger,
    ...options,
  });
  return { client, tokens, log };
}
