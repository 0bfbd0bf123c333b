/**
 * Raw HTTP/1.1 over a socket, for what fetch cannot send: any method or
 * request target as written, a body cut short, a client that goes away.
 */
import { connect, type Socket } from 'node:net';

export interface RawReply {
  status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: string;
}

function open(base: string): Promise<Socket> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () => resolve(socket));
    socket.once('error', reject);
  });
}

function parse(text: string): RawReply {
  const end = text.indexOf('\r\n\r\n');
  const head = end < 0 ? text : text.slice(0, end);
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  let body = end < 0 ? '' : text.slice(end + 4);
  if (headers['transfer-encoding'] === 'chunked') body = unchunk(body);
  return { status: Number(statusLine.split(' ')[1]), headers, body };
}

function unchunk(body: string): string {
  let out = '';
  let rest = body;
  for (;;) {
    const line = rest.indexOf('\r\n');
    const size = Number.parseInt(rest.slice(0, line), 16);
    if (!(size > 0)) return out;
    out += rest.slice(line + 2, line + 2 + size);
    rest = rest.slice(line + 2 + size + 2);
  }
}

/**
 * Sends one request exactly as given (`Connection: close` added) and reads
 * the whole answer. `target` is the request target as written on the wire.
 */
export async function rawRequest(
  base: string,
  method: string,
  target: string,
  headers: Record<string, string> = {},
  body = '',
): Promise<RawReply> {
  const socket = await open(base);
  const host = new URL(base).host;
  const lines = [`${method} ${target} HTTP/1.1`, `Host: ${host}`, 'Connection: close'];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  if (body !== '' || ['POST', 'PUT', 'PATCH'].includes(method)) {
    lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer to ${method} ${target} within 5 s`));
    }, 5000);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(parse(Buffer.concat(chunks).toString('utf8')));
    });
    socket.write(`${lines.join('\r\n')}\r\n\r\n${body}`);
  });
}

/**
 * A client that announces `length` bytes, sends `sent` of them, and goes
 * away (the socket destroyed, as a closed tab or a killed process does).
 */
export async function abortMidBody(
  base: string,
  path: string,
  headers: Record<string, string>,
  length: number,
  sent: string,
): Promise<void> {
  const socket = await open(base);
  const lines = [`POST ${path} HTTP/1.1`, `Host: ${new URL(base).host}`, `Content-Length: ${length}`];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  socket.on('error', () => undefined);
  socket.write(`${lines.join('\r\n')}\r\n\r\n${sent}`);
  await new Promise((resolve) => setTimeout(resolve, 50));
  socket.destroy();
}
