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

/** How much of an oversized body is read and discarded after the 413, and for how long at most. */
const LINGER_BYTES = 16 * 1024 * 1024;
const LINGER_MS = 5_000;

/**
 * Answers 413 at once, then reads and discards what the client is still sending (as nginx's
 * lingering close does), so that a client that writes its whole body before it reads (Node's
 * fetch) gets the 413 whatever the timing, rather than a reset once the socket is closed under
 * it. Past LINGER_BYTES or LINGER_MS the connection is cut; a body declared larger than that
 * is not waited for at all.
 */
export function refuseTooLarge(req: IncomingMessage, res: ServerResponse, limit: number): void {
  const message = `request body is larger than ${limit} bytes`;
  if (req.complete || Number(req.headers['content-length'] ?? 0) > LINGER_BYTES) {
    return sendError(res, 413, 'BAD_USER_INPUT', message, { connection: 'close' });
  }
  let discarded = 0;
  const cut = () => req.socket.destroy();
  const timer = setTimeout(cut, LINGER_MS).unref();
  const stop = () => clearTimeout(timer);
  req.on('data', (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > LINGER_BYTES) cut();
  });
  req.once('end', stop).once('close', stop).once('error', stop);
  req.resume();
  sendError(res, 413, 'BAD_USER_INPUT', message);
}
