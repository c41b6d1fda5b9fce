// Reads a request body as a JSON object with a size limit: a body over the limit is read to its end (up to a hard
// cap, then the connection is dropped) and refused with 413, so the client gets the error rather than a reset;
// anything but a JSON object is a 400 saying what was wrong. Only JSON is accepted (415 otherwise), which also keeps
// other web sites' form posts away from a server on localhost.
import type { IncomingMessage } from 'node:http';
import { ApiError } from './errors.js';

/** Bytes past the limit a client may still send before its connection is cut instead of answered. */
const DRAIN_CAP = 8 << 20;

export async function readJsonObject(req: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/json') {
    req.resume();
    throw new ApiError(415, `send the body as JSON with the header Content-Type: application/json (got ${type ? `'${type}'` : 'none'})`);
  }
  const declared = Number(req.headers['content-length']);
  const chunks: Buffer[] = [];
  let size = 0;
  await new Promise<void>((resolve, reject) => {
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= limit) chunks.push(c);
      else if (size > limit + DRAIN_CAP) req.destroy();
    });
    req.on('end', resolve);
    req.on('error', reject);
    req.on('close', () => (req.complete ? resolve() : reject(new ApiError(400, 'the request body was cut off'))));
  });
  if (size > limit || declared > limit) throw new ApiError(413, `the request body is ${size} bytes; the limit is ${limit} (--max-body)`);
  const text = Buffer.concat(chunks).toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new ApiError(400, `the request body is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ApiError(400, `the request body must be a JSON object, got ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}`);
  }
  return value as Record<string, unknown>;
}
