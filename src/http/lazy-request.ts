/**
 * The neutral request the adapters build for every request they handle. A
 * guard reads one or two headers and nothing else, so the request target is
 * parsed and the peer address read only when something asks for them (the
 * auth routes, the `query` token location, implicit refresh), and Node's own
 * header object is used as it is instead of a copy.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { HttpRequest } from './types.ts';

/** Path and query of a request (see `parseRequestTarget`). */
export interface RequestTarget {
  path: string;
  query: URLSearchParams;
}

/** How an adapter reads what a LazyHttpRequest computes on first read from its framework's request. */
export interface RequestReader<Source> {
  target(source: Source): RequestTarget;
  /** The peer address (whatever the adapter's `clientIp` option or default says). */
  ip(source: Source): string | undefined;
}

/** The fields a LazyHttpRequest takes as they are. */
export interface LazyRequestFields {
  method: string;
  headers: Record<string, string | undefined>;
  body?: Uint8Array;
  parsedBody?: unknown;
}

/**
 * An HttpRequest whose `path`, `query` and `ip` are read-only prototype
 * getters, computed once, on first read. Being getters, they are not copied
 * by a spread (`{ ...req }`): copy the fields by name instead.
 */
export class LazyHttpRequest<Source> implements HttpRequest {
  readonly method: string;
  readonly headers: Record<string, string | undefined>;
  readonly body: Uint8Array | undefined;
  readonly parsedBody: unknown;
  readonly #source: Source;
  readonly #reader: RequestReader<Source>;
  #target: RequestTarget | undefined;
  #ipRead = false;
  #ip: string | undefined;

  constructor(source: Source, reader: RequestReader<Source>, fields: LazyRequestFields) {
    this.method = fields.method;
    this.headers = fields.headers;
    this.body = fields.body;
    this.parsedBody = fields.parsedBody;
    this.#source = source;
    this.#reader = reader;
  }

  get path(): string {
    this.#target ??= this.#reader.target(this.#source);
    return this.#target.path;
  }

  get query(): URLSearchParams {
    this.#target ??= this.#reader.target(this.#source);
    return this.#target.query;
  }

  get ip(): string | undefined {
    if (!this.#ipRead) {
      this.#ip = this.#reader.ip(this.#source);
      this.#ipRead = true;
    }
    return this.#ip;
  }
}

/**
 * Node's parsed request headers, as HttpRequest's headers. Node's parser
 * already gives what HttpRequest promises (lower-case names, repeated
 * headers joined, cookies with `; `) with one exception: `set-cookie`, a
 * response header, is kept as an array. Baton never reads it from a request,
 * but a lookup option may name any header, so in the rare request that
 * carries it, a copy with that one joined (as the copy every request got
 * before did); otherwise Node's object itself, without a copy.
 */
export function nodeRequestHeaders(headers: IncomingHttpHeaders): Record<string, string | undefined> {
  const setCookie = headers['set-cookie'];
  // Every other value is a string (or absent): Node joins repeated headers, or keeps the first.
  if (setCookie === undefined) return headers as Record<string, string | undefined>;
  return { ...(headers as Record<string, string | undefined>), 'set-cookie': setCookie.join(', ') };
}

/** What a Node framework's request offers (Express's, Fastify's): Node's parsed headers and the framework's parsed body. */
export interface NodeFrameworkRequest {
  method: string;
  headers: IncomingHttpHeaders;
  body?: unknown;
}

/** The neutral request of a Node framework's request; `body` is what the adapter read (bounded). */
export function nodeLazyRequest<Source extends NodeFrameworkRequest>(
  request: Source,
  body: Uint8Array | undefined,
  reader: RequestReader<Source>,
): HttpRequest {
  return new LazyHttpRequest(request, reader, {
    method: request.method,
    headers: nodeRequestHeaders(request.headers),
    body,
    parsedBody: request.body,
  });
}
