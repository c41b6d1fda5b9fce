// `tinyllm serve`'s HTTP server (node:http only): routes with their methods (404 unknown path, 405 wrong method),
// every ApiError answered as OpenAI's error JSON and anything unexpected as a 500 without stopping the server, one
// model behind a bounded queue, and a clean shutdown: stop accepting, refuse the waiting requests, let the running
// one finish (cancelled after a grace period), close idle connections. A request whose Host is not a name of the
// bound address gets 403 (DNS rebinding: a web page whose name resolves to 127.0.0.1 must not reach the API).
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Decoder } from '../runtime/decoder.js';
import type { LoadedModel } from '../runtime/model.js';
import * as api from './api.js';
import { modelCard, type ModelCard } from './card.js';
import { ApiError } from './errors.js';
import { PAGE_HTML } from './page.js';
import { JobQueue } from './queue.js';
import type { ServeRag } from './rag.js';

export interface ServeOptions {
  /** Requests that may wait behind the running one (more get 503). */
  queue: number;
  /** Largest request body in bytes (larger gets 413). */
  maxBody: number;
  /** One line per finished request (default: none). */
  log?: (line: string) => void;
  /** Retrieval-augmented prompts from a store of labelled examples (src/serve/rag.ts). */
  rag?: ServeRag;
  /** Host names accepted in the Host header besides localhost, 127.0.0.1, [::1] and the listening address. */
  allowHosts?: string[];
}

/** Names every server answers to (loopback), as URL.hostname spells them. */
const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];

type Handler = (ctx: api.ApiContext, req: http.IncomingMessage, res: http.ServerResponse) => void | Promise<void>;

const ROUTES: Record<string, Partial<Record<'GET' | 'POST', Handler>>> = {
  '/': { GET: (_c, _q, res) => page(res) },
  '/health': { GET: api.health },
  '/v1/models': { GET: api.models },
  '/v1/completions': { POST: api.completions },
  '/v1/chat/completions': { POST: api.chatCompletions },
  '/v1/classify': { POST: api.classify },
};

function page(res: http.ServerResponse): void {
  res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': Buffer.byteLength(PAGE_HTML), 'Cache-Control': 'no-cache' });
  res.end(PAGE_HTML);
}

export class ModelServer {
  readonly http: http.Server;
  readonly card: ModelCard;
  readonly stats: api.ServeStats = { completed: 0, cancelled: 0, tokens: 0 };
  private readonly ctx: api.ApiContext;
  private readonly queue: JobQueue;
  private closing = false;
  private hardStop = false;
  /** Host names (lowercase, IPv6 in brackets) and the port a request's Host header must name; set by listen(). */
  private hosts = new Set<string>();
  private port = 0;

  constructor(
    readonly model: LoadedModel,
    private readonly opts: ServeOptions,
  ) {
    this.card = modelCard(model);
    this.queue = new JobQueue(opts.queue);
    this.ctx = { model, card: this.card, decoder: new Decoder(model), queue: this.queue, stats: this.stats, maxBody: opts.maxBody, ...(opts.rag ? { rag: opts.rag } : {}), stopping: () => this.hardStop };
    this.http = http.createServer((req, res) => void this.handle(req, res));
    this.http.headersTimeout = 20_000;
    this.http.requestTimeout = 60_000;
  }

  /** Starts listening; port 0 picks a free port (see the returned address). */
  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(port, host, () => {
        this.http.off('error', reject);
        const a = this.http.address() as AddressInfo;
        const bracket = (h: string) => (h.includes(':') && !h.startsWith('[') ? `[${h}]` : h);
        this.hosts = new Set([...LOOPBACK_NAMES, host, a.address, ...(this.opts.allowHosts ?? [])].map((h) => bracket(h.toLowerCase())));
        this.port = a.port;
        resolve(a);
      });
    });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const t0 = performance.now();
    if (this.closing) res.setHeader('Connection', 'close');
    try {
      this.checkHost(req.headers.host);
      const url = new URL(req.url ?? '/', 'http://localhost');
      const route = ROUTES[url.pathname];
      if (!route) throw new ApiError(404, `no route ${url.pathname}; the API has ${Object.keys(ROUTES).join(', ')}`);
      const handler = route[req.method as 'GET' | 'POST'];
      if (!handler) {
        res.setHeader('Allow', Object.keys(route).join(', '));
        throw new ApiError(405, `${url.pathname} takes ${Object.keys(route).join(' or ')}, not ${req.method}`);
      }
      await handler(this.ctx, req, res);
    } catch (e) {
      const err = e instanceof ApiError ? e : new ApiError(500, `internal error: ${(e as Error).message}`);
      if (!(e instanceof ApiError)) process.stderr.write(`tinyllm serve: ${(e as Error).stack ?? String(e)}\n`);
      if (!res.headersSent && !res.destroyed) api.sendJson(res, err.status, err.body());
      else res.destroy();
    }
    this.opts.log?.(`${req.method} ${req.url} ${res.statusCode} ${((performance.now() - t0) / 1000).toFixed(3)} s`);
  }

  /** 403 unless `host` (the Host header) names this server: an accepted name and the bound port (or none on port 80). */
  private checkHost(host: string | undefined): void {
    let name = '';
    let port = '';
    try {
      ({ hostname: name, port } = new URL(`http://${host ?? ''}`));
    } catch {
      // not a host[:port]: refused below
    }
    const portOk = port === String(this.port) || (port === '' && this.port === 80);
    if (host === undefined || !/^[^/@?#\s]+$/.test(host) || !this.hosts.has(name) || !portOk) {
      throw new ApiError(403, `Host ${JSON.stringify(host ?? '')} is not this server (${[...this.hosts].join(', ')} on port ${this.port}); to reach it under another name, start tinyllm serve with --allow-host <name>`, null, 'host_not_allowed');
    }
  }

  /**
   * Stops: no new connections, waiting requests get 503, the running one finishes (cancelled after graceMs),
   * idle keep-alive connections close. Resolves when everything is closed.
   */
  async shutdown(graceMs = 10_000): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.http.closeIdleConnections?.();
    const timer = setTimeout(() => {
      this.hardStop = true;
    }, graceMs);
    await this.queue.drain('the server is shutting down');
    clearTimeout(timer);
    this.http.closeIdleConnections?.();
    const force = setTimeout(() => this.http.closeAllConnections?.(), 1000);
    await closed;
    clearTimeout(force);
  }

  /** Cancels the running request at its next token (a second Ctrl-C). */
  stopNow(): void {
    this.hardStop = true;
  }
}
