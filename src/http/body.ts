import { BatonError } from '../core/errors.ts';
import type { HttpRequest } from './types.ts';

/** Default body limit: auth requests are small, so anything larger is refused early. */
export const DEFAULT_BODY_LIMIT = 16 * 1024;

export type BodyKind = 'json' | 'form';

/** A parsed body. Objects in it have no prototype, so no key can reach Object.prototype. */
export type Fields = Record<string, unknown>;

export interface ParseBodyOptions {
  /** Accepted media types. JSON routes: `['json']`; OAuth routes: `['json', 'form']`. */
  accept: readonly BodyKind[];
  /** Bytes. Default 16 KiB. */
  limit?: number;
  /** An empty body (any or no content type) parses to `{}` instead of failing. */
  optional?: boolean;
}

const MEDIA_TYPES: Record<BodyKind, string> = {
  json: 'application/json',
  form: 'application/x-www-form-urlencoded',
};

/** Keys that mean something to JavaScript objects; no legitimate client sends them. */
const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function byteLength(body: Uint8Array | string | undefined): number {
  if (body === undefined) return 0;
  return typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
}

/** The media type's kind, or undefined when it is not one we read. Only UTF-8 is accepted. */
export function kindOf(contentType: string | undefined): BodyKind | undefined {
  if (!contentType) return undefined;
  const [type = '', ...params] = contentType.split(';').map((part) => part.trim().toLowerCase());
  for (const param of params) {
    const [name, value = ''] = param.split('=').map((s) => s.trim());
    if (name === 'charset' && value.replace(/^"|"$/g, '') !== 'utf-8') return undefined;
  }
  for (const [kind, media] of Object.entries(MEDIA_TYPES) as [BodyKind, string][]) {
    if (type === media) return kind;
  }
  return undefined;
}

function decode(body: Uint8Array | string): string {
  if (typeof body === 'string') return body;
  try {
    return utf8.decode(body);
  } catch {
    throw new BatonError('invalid_request', 'The request body is not valid UTF-8');
  }
}

function forbiddenKey(key: string): never {
  throw new BatonError('invalid_request', `The request body must not contain the key "${key}"`);
}

/** JSON.parse reviver: refuses dangerous keys at any depth and rebuilds objects without a prototype. */
function revive(this: unknown, key: string, value: unknown): unknown {
  if (FORBIDDEN_KEYS.has(key) && !Array.isArray(this)) forbiddenKey(key);
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    return Object.assign(Object.create(null) as Fields, value);
  }
  return value;
}

function parseJson(text: string): Fields {
  let value: unknown;
  try {
    value = JSON.parse(text, revive);
  } catch (error) {
    if (error instanceof BatonError) throw error;
    throw new BatonError('invalid_request', 'The request body is not valid JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new BatonError('invalid_request', 'The request body must be a JSON object');
  }
  return value as Fields;
}

function parseForm(text: string): Fields {
  const fields: Fields = Object.create(null);
  for (const [key, value] of new URLSearchParams(text)) {
    if (FORBIDDEN_KEYS.has(key)) forbiddenKey(key);
    // RFC 6749 §3.1: parameters must not be repeated; ambiguity is how parameter smuggling starts.
    if (key in fields) throw new BatonError('invalid_request', `The parameter "${key}" is repeated`);
    fields[key] = value;
  }
  return fields;
}

/**
 * Checks size and content type, then parses the body. Throws BatonError:
 * `payload_too_large` (413), `unsupported_media_type` (415), `invalid_request` (400).
 *
 * @example
 * ```ts
 * import { parseBody } from 'baton-auth/http';
 *
 * const req = {
 *   method: 'POST',
 *   path: '/auth/token',
 *   query: new URLSearchParams(),
 *   headers: { 'content-type': 'application/x-www-form-urlencoded' },
 *   body: 'grant_type=password&username=thedude&password=abides',
 * };
 * parseBody(req, { accept: ['json', 'form'] }).username; // 'thedude'
 * parseBody(req, { accept: ['json'] }); // throws 415 unsupported_media_type
 * parseBody(req, { accept: ['form'], limit: 16 }); // throws 413 payload_too_large
 * ```
 */
export function parseBody(req: HttpRequest, options: ParseBodyOptions): Fields {
  const limit = options.limit ?? DEFAULT_BODY_LIMIT;
  const size = byteLength(req.body);
  if (size > limit) {
    throw new BatonError('payload_too_large', `The request body is larger than ${limit} bytes`);
  }
  if (size === 0 && options.optional) return Object.create(null) as Fields;
  const kind = kindOf(req.headers['content-type']);
  if (kind === undefined || !options.accept.includes(kind)) {
    const accepted = options.accept.map((k) => MEDIA_TYPES[k]).join(' or ');
    throw new BatonError('unsupported_media_type', `The request body must be ${accepted}`);
  }
  if (size === 0 || req.body === undefined) {
    throw new BatonError('invalid_request', 'The request body is empty');
  }
  const text = decode(req.body);
  return kind === 'json' ? parseJson(text) : parseForm(text);
}

/**
 * The request body stream failed: the client went away or broke the
 * connection (`aborted`, ECONNRESET) mid-body. That is the client's doing, a
 * 400 that nobody will read, not a server error to log with its stack.
 */
function cutShortError(cause?: unknown): BatonError {
  return new BatonError('invalid_request', 'The request body was cut short', { cause });
}

function cutShort(cause: unknown): never {
  throw cutShortError(cause);
}

/**
 * Reads a web stream, stopping after `max` bytes, so an adapter never
 * buffers more than the limit (plus one byte to know it was exceeded).
 *
 * @example
 * ```ts
 * import { parseBody, parseRequestTarget, readBodyLimited } from 'baton-auth/http';
 *
 * // A route of a fetch-style server (a web Request in, a Response out)
 * async function saveNote(request: Request): Promise<Response> {
 *   const limit = 16 * 1024;
 *   const body = await readBodyLimited(request.body, limit); // stops after limit + 1 bytes, whatever is sent
 *   const req = {
 *     method: request.method,
 *     ...parseRequestTarget(request.url),
 *     headers: { 'content-type': request.headers.get('content-type') ?? undefined },
 *     body,
 *   };
 *   const fields = parseBody(req, { accept: ['json'], limit }); // over the limit: 413 payload_too_large
 *   return Response.json({ saved: fields.text });
 * }
 * ```
 */
export async function readBodyLimited(
  stream: ReadableStream<Uint8Array> | null | undefined,
  max: number,
): Promise<Uint8Array> {
  if (!stream) return new Uint8Array(0);
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    while (total <= max) {
      const { done, value } = await reader.read().catch(cutShort);
      if (done) break;
      chunks.push(value);
      total += value.byteLength;
    }
  } finally {
    if (total > max) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
  const out = new Uint8Array(Math.min(total, max + 1));
  let offset = 0;
  for (const chunk of chunks) {
    const part = chunk.subarray(0, out.byteLength - offset);
    out.set(part, offset);
    offset += part.byteLength;
    if (offset >= out.byteLength) break;
  }
  return out;
}

/**
 * Reads a Node stream (an IncomingMessage), stopping after `max` bytes, for
 * the adapters of frameworks built on node:http. Past the limit it stops
 * collecting and lets the rest drain, so the 413 still reaches the client.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { errorResponse, parseBody, parseRequestTarget, readNodeBodyLimited } from 'baton-auth/http';
 *
 * const limit = 16 * 1024;
 * createServer(async (req, res) => {
 *   try {
 *     const body = await readNodeBodyLimited(req, limit); // at most limit + 1 bytes are kept
 *     const headers = { 'content-type': req.headers['content-type'] };
 *     const fields = parseBody({ method: req.method ?? 'POST', ...parseRequestTarget(req.url ?? '/'), headers, body }, { accept: ['json'], limit });
 *     res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ saved: fields.text }));
 *   } catch (error) {
 *     const response = errorResponse(error); // 413 payload_too_large, 415, 400 (bad JSON, a body cut short)
 *     res.writeHead(response.status, response.headers).end(response.body);
 *   }
 * }).listen(3000);
 * ```
 */
export function readNodeBodyLimited(stream: NodeJS.ReadableStream, max: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    if ((stream as { readableEnded?: boolean }).readableEnded) {
      // Not a client error: something read the body first. Say so plainly (it lands in onUnexpectedError).
      reject(new Error("baton: the request body was already read; mount Baton's routes before body parsers"));
      return;
    }
    const chunks: Buffer[] = [];
    let total = 0;
    const finish = (error?: Error) => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.off('close', onClose);
      if (error) return reject(error);
      const body = Buffer.concat(chunks);
      resolve(body.byteLength > max ? body.subarray(0, max + 1) : body);
    };
    const onData = (chunk: Buffer | string) => {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      chunks.push(bytes);
      total += bytes.byteLength;
      if (total > max) {
        finish();
        stream.resume();
      }
    };
    const onEnd = () => finish();
    const onError = (error: Error) => finish(cutShortError(error));
    const onClose = () => finish(cutShortError());
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.on('close', onClose);
  });
}

export interface StringFieldOptions {
  /** Characters. Default 1024. */
  maxLength?: number;
}

/**
 * A required, non-empty string field; 400 `invalid_request` naming the field otherwise.
 *
 * @example
 * ```ts
 * import { requiredString } from 'baton-auth/http';
 *
 * const fields = { username: 'thedude', password: '' }; // what parseBody gave
 * requiredString(fields, 'username'); // 'thedude'
 * requiredString(fields, 'password'); // throws 400 invalid_request: "password" must not be empty
 * requiredString(fields, 'otp', { maxLength: 8 }); // throws 400 invalid_request: "otp" is required
 * ```
 */
export function requiredString(fields: Fields, name: string, options: StringFieldOptions = {}): string {
  const value = optionalString(fields, name, options);
  if (value === undefined) throw new BatonError('invalid_request', `"${name}" is required`);
  return value;
}

/**
 * An optional string field: absent (or null) gives undefined; empty or wrong-typed is a 400.
 *
 * @example
 * ```ts
 * import { optionalString } from 'baton-auth/http';
 *
 * const fields = { scope: 'read', client_id: null, remember: true }; // what parseBody gave
 * optionalString(fields, 'scope'); // 'read'
 * optionalString(fields, 'client_id'); // undefined
 * optionalString(fields, 'remember'); // throws 400 invalid_request: "remember" must be a string
 * ```
 */
export function optionalString(
  fields: Fields,
  name: string,
  options: StringFieldOptions = {},
): string | undefined {
  const value = Object.hasOwn(fields, name) ? fields[name] : undefined;
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new BatonError('invalid_request', `"${name}" must be a string`);
  if (value.length === 0) throw new BatonError('invalid_request', `"${name}" must not be empty`);
  const max = options.maxLength ?? 1024;
  if (value.length > max) {
    throw new BatonError('invalid_request', `"${name}" must be at most ${max} characters`);
  }
  return value;
}
