/**
 * A resource server on Express 5: it only verifies Baton's access tokens.
 * Start an issuer (the demo: npm start), then: npx tsx examples/resource/express.ts
 * curl -s localhost:3000/auth/login ... (at the issuer), then
 * curl -s localhost:4000/orders -H 'authorization: Bearer <access_token>'
 */
import { createResourceVerifier } from 'baton-auth/resource';
import { requireToken } from 'baton-auth/resource/express';
import express from 'express';

// What the issuer signs with (the demo's issuer and audience options) and where it publishes its keys.
const issuer = 'baton-demo';
const audience = 'baton-demo-api';
const jwksUrl = `${process.env.ISSUER_URL ?? 'http://127.0.0.1:3000'}/.well-known/jwks.json`;

const app = express();
app.disable('x-powered-by');

const auth = requireToken({ issuer, audience, jwksUrl });
app.get('/orders', auth, (req, res) => res.json({ user: req.auth.sub }));

// One verifier (one key cache) shared by guards with different requirements.
const verifier = createResourceVerifier({ issuer, audience, jwksUrl, algorithms: ['EdDSA'] });
const admin = requireToken(verifier, { roles: ['admin'] });
app.post('/admin', admin, (req, res) => res.json({ by: req.auth.sub }));

const server = app.listen(Number(process.env.PORT ?? 4000), '127.0.0.1', () => {
  const address = server.address();
  console.log(`listening on http://127.0.0.1:${typeof address === 'object' && address ? address.port : ''}`);
});
