import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * The whole request body, or null once it passes `limit` bytes: counted as it arrives, so
 * a chunked body without Content-Length is bounded too.
 */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  if (Number(req.headers['content-length'] ?? 0) > limit) return null;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export function refuseTooLarge(res: ServerResponse, limit: number): void {
  const body = { errors: [{ message: `request body is larger than ${limit} bytes`, extensions: { code: 'BAD_USER_INPUT' } }] };
  // The rest of the body is not read: close the connection rather than drain it.
  res.writeHead(413, { 'content-type': 'application/json', connection: 'close' }).end(JSON.stringify(body));
}

/** Node's request headers as Fetch headers (repeated headers joined as the spec joins them). */
export function fetchHeaders(req: IncomingMessage): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  return headers;
}

export async function sendResponse(res: ServerResponse, response: Response): Promise<void> {
  res.statusCode = response.status;
  response.headers.forEach((value, name) => res.setHeader(name, value));
  res.end(Buffer.from(await response.arrayBuffer()));
}
