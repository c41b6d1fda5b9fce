// Server-sent events as OpenAI and llama.cpp's server stream them: `data: <json>\n\n` per chunk and a final
// `data: [DONE]\n\n`. Writes wait for the socket to drain, so a slow reader slows generation instead of
// buffering it; a closed connection makes every later write a no-op.
import type { ServerResponse } from 'node:http';

export class EventStream {
  constructor(private readonly res: ServerResponse) {
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache', 'X-Accel-Buffering': 'no' });
    res.flushHeaders();
  }

  get closed(): boolean {
    return this.res.destroyed || this.res.writableEnded;
  }

  /** Sends one event; resolves when the socket can take more. */
  send(data: unknown): Promise<void> {
    return this.write(`data: ${JSON.stringify(data)}\n\n`);
  }

  /** Sends `data: [DONE]` and ends the response. */
  done(): void {
    if (!this.closed) this.res.end('data: [DONE]\n\n');
  }

  private write(text: string): Promise<void> {
    if (this.closed || this.res.write(text)) return Promise.resolve();
    return new Promise((resolve) => {
      const go = () => {
        this.res.off('drain', go);
        this.res.off('close', go);
        resolve();
      };
      this.res.on('drain', go);
      this.res.on('close', go);
    });
  }
}
