import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * The whole request body, or null once it passes `limit` bytes: counted as it arrives, so
 * a chunked body without Content-Length is bounded too. Rejects when the connection ends
 * first (the client left, or Node's request timeout answered 408 and closed it).
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  if (Number(req.headers['content-length'] ?? 0) > limit) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const settle = (result: () => void) => {
      req.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
      result();
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      // Stop reading, but leave the socket open so that the 413 can still be sent.
      req.pause();
      settle(() => resolve(null));
    };
    const onEnd = () => settle(() => resolve(Buffer.concat(chunks)));
    const onError = (err: Error) => settle(() => reject(err));
    const onClose = () => settle(() => reject(new Error('connection closed before the request body was complete')));
    req.on('data', onData).once('end', onEnd).once('error', onError).once('close', onClose);
  });
}

/** A GraphQL-shaped JSON error for failures that happen before GraphQL sees the request. */
export function sendError(res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  const body = { errors: [{ message, extensions: { code } }] };
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

export function refuseTooLarge(res: ServerResponse, limit: number): void {
  // The rest of the body is not read: close the connection rather than drain it.
  sendError(res, 413, 'BAD_USER_INPUT', `request body is larger than ${limit} bytes`, { connection: 'close' });
}

export async function sendResponse(res: ServerResponse, response: Response): Promise<void> {
  res.statusCode = response.status;
  response.headers.forEach((value, name) => res.setHeader(name, value));
  res.end(Buffer.from(await response.arrayBuffer()));
}
