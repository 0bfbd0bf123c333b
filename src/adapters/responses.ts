/**
 * Writing Baton's neutral HttpResponse out through each framework: shared by
 * the issuer's adapters (adapters/{express,fastify,hono}.ts) and the
 * resource servers' guards (resource/*.ts). Internal: no entry point
 * exports it.
 */
import type { Response as ExpressResponse } from 'express';
import type { FastifyReply } from 'fastify';
import type { HttpResponse } from '../http/types.ts';

/** `res.end`, not `res.send`: no ETag or charset added, so every adapter answers byte for byte alike. */
export function sendExpressResponse(res: ExpressResponse, response: HttpResponse): void {
  res.status(response.status);
  for (const [name, value] of Object.entries(response.headers)) {
    if (name === 'set-cookie') res.append(name, value);
    else res.setHeader(name, value);
  }
  res.end(response.body);
}

/** A Buffer, not a string: Fastify would add `; charset=utf-8` to a string's JSON content type. */
export function sendFastifyResponse(reply: FastifyReply, response: HttpResponse): FastifyReply {
  reply.code(response.status);
  for (const [name, value] of Object.entries(response.headers)) reply.header(name, value);
  return reply.send(response.body === undefined ? undefined : Buffer.from(response.body));
}

/** A web Response (Hono's), every `set-cookie` its own header. */
export function toWebResponse(res: HttpResponse): Response {
  const headers = new Headers();
  for (const [name, value] of Object.entries(res.headers)) {
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  return new Response(res.body ?? null, { status: res.status, headers });
}
