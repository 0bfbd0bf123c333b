/**
 * A resource server on Hono 4 (Node): it only verifies Baton's access tokens.
 * Start an issuer (the demo: npm start), then: npx tsx examples/resource/hono.ts
 * curl -s localhost:4000/orders -H 'authorization: Bearer <access_token>'
 */
import { serve } from '@hono/node-server';
import { createResourceVerifier } from 'baton-auth/resource';
import { type BatonVariables, requireToken } from 'baton-auth/resource/hono';
import { Hono } from 'hono';

// What the issuer signs with (the demo's issuer and audience options) and where it publishes its keys.
const issuer = 'baton-demo';
const audience = 'baton-demo-api';
const jwksUrl = `${process.env.ISSUER_URL ?? 'http://127.0.0.1:3000'}/.well-known/jwks.json`;

// Declared Variables type c.get('auth') on routes behind app.use(...) too.
const app = new Hono<{ Variables: BatonVariables }>();

const auth = requireToken({ issuer, audience, jwksUrl });
app.get('/orders', auth, (c) => c.json({ user: c.get('auth').sub }));

// One verifier (one key cache) shared by guards with different requirements.
const verifier = createResourceVerifier({ issuer, audience, jwksUrl, algorithms: ['EdDSA'] });
app.use('/admin', requireToken(verifier, { roles: ['admin'] }));
app.post('/admin', (c) => c.json({ by: c.get('auth').sub }));

serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 4000), hostname: '127.0.0.1' }, (info) => {
  console.log(`listening on http://127.0.0.1:${info.port}`);
});
