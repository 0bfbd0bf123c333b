import { methodNotAllowed } from './errors.ts';
import type { HttpResponse } from './types.ts';

/**
 * What a request's method gets from a route's table of handlers by method.
 * HEAD is served by the GET handler, its body dropped by `answerFor`
 * (RFC 9110 §9.3.2: the same status and header fields as GET).
 */
export function routeForMethod<Route>(
  methods: Partial<Record<string, Route>>,
  method: string,
): Route | undefined {
  const served = method === 'HEAD' ? 'GET' : method;
  return Object.hasOwn(methods, served) ? methods[served] : undefined;
}

/** 405 with the route's methods in Allow, HEAD wherever GET is. */
export function wrongMethod(methods: object, oauth = false): HttpResponse {
  const allow = Object.keys(methods);
  return methodNotAllowed(allow.includes('GET') ? [...allow, 'HEAD'] : allow, oauth);
}

/** The response as the method gets it: without a body for HEAD. */
export function answerFor(method: string, response: HttpResponse): HttpResponse {
  if (method === 'HEAD') delete response.body;
  return response;
}
