/**
 * Requests that Node's HTTP parser refuses before any framework sees them
 * (headers over the size limit, a malformed request line): the `clientError`
 * of node:http. Node's default answers a bare status line and Fastify its own
 * JSON; this answers in Baton's shape, so a server on any adapter answers
 * alike. Give it to `server.on('clientError', ...)` or Fastify's
 * `clientErrorHandler` option.
 */
import type { Duplex } from 'node:stream';
import { jsonResponse } from './errors.ts';

const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  413: 'Content Too Large',
  414: 'URI Too Long',
  431: 'Request Header Fields Too Large',
};

const MESSAGE: Readonly<Record<number, string>> = {
  400: 'The request is malformed',
  408: 'The request took too long',
  413: 'The request body is too large',
  414: 'The URL is too long',
  431: 'The request headers are too large',
};

/** The request's method, when the packet Node's parser refused starts with its request line. */
function methodOf(error: { rawPacket?: unknown }): string | undefined {
  const packet = error.rawPacket;
  if (!Buffer.isBuffer(packet)) return undefined;
  return /^([A-Z]{1,16}) /.exec(packet.subarray(0, 17).toString('latin1'))?.[1];
}

function statusOf(error: { code?: unknown }): number {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return 431;
    case 'HPE_URI_TOO_LONG':
      return 414;
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return 408;
    default:
      return 400;
  }
}

/**
 * Answers a request that Node's HTTP parser refused (431, 414, 408 or 400) in
 * Baton's JSON shape and closes the connection; a client that went away gets
 * nothing. The JSON body goes only where the request is known not to be a
 * HEAD (the refused packet starts with its request line); else the status
 * and headers alone.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { answerClientError } from 'baton-auth/http';
 *
 * const server = createServer((_req, res) => res.end('ok'));
 * // Headers over Node's limit: 431 {"error":"invalid_request","message":"The request headers are too large"}
 * server.on('clientError', answerClientError);
 * server.listen(3000);
 * ```
 */
export function answerClientError(
  error: Error & { code?: string; rawPacket?: unknown },
  socket: Duplex,
): void {
  // A client that went away (or a socket that cannot be written) gets nothing: it is not listening.
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const status = statusOf(error);
  const response = jsonResponse(status, {
    error: 'invalid_request',
    message: MESSAGE[status] ?? 'Bad request',
  });
  // An answer to HEAD has no body: a client would read one as data after the response. The
  // method is known only when the refused packet starts with the request line.
  const method = methodOf(error);
  const body = method === undefined || method === 'HEAD' ? '' : (response.body ?? '');
  const head = [`HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Bad Request'}`, 'connection: close'];
  for (const [name, value] of Object.entries(response.headers)) head.push(`${name}: ${String(value)}`);
  head.push(`content-length: ${Buffer.byteLength(body)}`);
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
}
