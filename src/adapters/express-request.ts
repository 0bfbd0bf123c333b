/**
 * `req.auth` on Express requests, shared by the issuer's guards
 * (adapters/express.ts) and the resource servers' (resource/express.ts).
 * The type augmentation is declared where each guard is exported.
 */
import express, { type Request } from 'express';
import { BatonError } from '../core/errors.ts';
import type { AccessClaims } from '../tokens/types.ts';

/** Once per process: typed `req.auth` is a prototype getter, so it is never silently undefined. */
export function installAccessors(): void {
  if (Object.hasOwn(express.request, 'authOrNull')) return;
  Object.defineProperty(express.request, 'authOrNull', { value: null, writable: true, configurable: true });
  Object.defineProperty(express.request, 'auth', {
    configurable: true,
    get(this: Request): AccessClaims {
      if (this.authOrNull === null) throw new BatonError('missing_token', 'An access token is required');
      return this.authOrNull;
    },
    set(this: Request, value: AccessClaims) {
      Object.defineProperty(this, 'auth', { value, writable: true, configurable: true, enumerable: true });
    },
  });
}
