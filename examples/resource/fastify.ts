/**
 * A resource server on Fastify 5: it only verifies Baton's access tokens.
 * Start an issuer (the demo: npm start), then: npx tsx examples/resource/fastify.ts
 * curl -s localhost:4000/orders -H 'authorization: Bearer <access_token>'
 */
import { batonResource } from 'baton-auth/resource/fastify';
import Fastify from 'fastify';

// What the issuer signs with (the demo's issuer and audience options) and where it publishes its keys.
const issuer = 'baton-demo';
const audience = 'baton-demo-api';
const jwksUrl = `${process.env.ISSUER_URL ?? 'http://127.0.0.1:3000'}/.well-known/jwks.json`;

const app = Fastify();

await app.register(batonResource, { issuer, audience, jwksUrl });
app.get('/orders', { onRequest: app.requireToken() }, async (request) => ({ user: request.auth.sub }));

app.post('/admin', { onRequest: app.requireToken({ roles: ['admin'] }) }, async (request) => ({
  by: request.auth.sub,
}));

const url = await app.listen({ port: Number(process.env.PORT ?? 4000), host: '127.0.0.1' });
console.log(`listening on ${url}`);
