import { createServer, Agent, type IncomingHttpHeaders } from 'node:http';
import { createConnection, type AddressInfo } from 'node:net';

/** One request exactly as it reached the wire: what an SDK or billflow's client sent. */
export interface CapturedRequest {
  method: string;
  /** Without the query. */
  path: string;
  /** `refund=none`, or '' when there is none. */
  query: string;
  headers: IncomingHttpHeaders;
  /** The body as sent, '' when none. */
  body: string;
}

export interface CapturingProxy {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  port: number;
  readonly captured: CapturedRequest[];
  /** Forgets what was captured. */
  clear(): void;
  close(): Promise<void>;
}

/**
 * An HTTP server that records every request as it arrived and forwards it, unchanged but for the
 * host, to `target` (a provider sandbox's API), answering with the sandbox's answer. Pointing an
 * official SDK at it captures that SDK's requests at the HTTP layer, and shows whether the sandbox
 * accepts them.
 */
export async function startCapturingProxy(target: string): Promise<CapturingProxy> {
  const captured: CapturedRequest[] = [];
  const base = target.replace(/\/+$/, '');
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const [path = '', query = ''] = (request.url ?? '').split('?');
      captured.push({ method: request.method ?? '', path, query, headers: request.headers, body });
      const forwarded = Object.fromEntries(
        Object.entries(request.headers).filter(([name]) => !['host', 'connection', 'content-length', 'accept-encoding'].includes(name)),
      ) as Record<string, string>;
      fetch(`${base}${request.url ?? ''}`, { method: request.method, headers: forwarded, body: body === '' ? undefined : body })
        .then(async (answer) => {
          const text = await answer.text();
          response.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
          response.end(text);
        })
        .catch((error: unknown) => {
          response.writeHead(502);
          response.end(String(error));
        });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    captured,
    clear: () => void (captured.length = 0),
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/**
 * An agent for `https:` URLs that opens plain TCP to the local port instead of TLS to the host: the
 * way to point an SDK with hard-coded `https://` hosts (gocardless-nodejs) at a capturing proxy,
 * untouched otherwise (its headers, Host included, go out as the SDK made them).
 */
export function plainAgentTo(port: number): Agent {
  const agent = new Agent({ keepAlive: false });
  Object.assign(agent, {
    protocol: 'https:',
    createConnection: () => createConnection({ host: '127.0.0.1', port }),
  });
  return agent;
}
