// panva's oidc-provider (npm, OpenID Certified) configured like Flexslot as far as it goes,
// for conformance/tests/real_servers.rs. Version 8.x: 9.x warns that it does not support
// Node 20, the machine's Node. The fixture clients and users of
// fixtures/identities/flexslot.toml, HTTP Basic for confidential clients, PKCE S256 for
// every client, 60 s codes, refresh rotation (a replayed refresh token revokes the grant:
// the library's own rule), RFC 7009 revocation and RFC 7662 introspection at Flexslot's
// paths, and a resource `GET /api/public/v1/me` needing scope `profile` with RFC 6750
// challenges. Sign-in and consent are this file's own pages, as the library's docs show
// (interactionDetails / interactionFinished); the library's development pages are off.
//
// What it cannot be told: a "disabled" client (the library has no such state, so
// fx-disabled is not registered and authenticates as an unknown client would).
//
// Usage: node server.mjs --modules DIR [--port N]
//   DIR is the node_modules folder `npm ci` filled from this folder's package-lock.json
//   (.ci/run puts it under target/real-servers/oidc-provider/). It listens on 127.0.0.1
//   (port 0 unless given) and prints `listening http://127.0.0.1:PORT` once it is ready.

import { createServer } from 'node:http';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: { modules: { type: 'string' }, port: { type: 'string', default: '0' } },
});
if (!args.modules) {
  console.error('usage: node server.mjs --modules DIR [--port N] (DIR: node_modules of `npm ci` in this folder)');
  process.exit(2);
}
const entry = pathToFileURL(join(resolve(args.modules), 'oidc-provider', 'lib', 'index.js'));
const { default: Provider } = await import(entry.href);

// fixtures/identities/flexslot.toml, as the deployment's administrator would enter it.
const CALLBACK = 'http://127.0.0.1:8765/callback';
const clients = [
  {
    client_id: 'fx-web',
    client_secret: 'fx-web-secret',
    client_name: 'Slot Planner',
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: [CALLBACK],
    scope: 'profile slots:read',
  },
  {
    client_id: 'fx-spa',
    client_name: 'Slot Peek',
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: ['http://127.0.0.1:8765/spa'],
    scope: 'profile',
  },
  {
    client_id: 'fx-codeonly',
    client_secret: 'fx-codeonly-secret',
    client_name: 'One Shot',
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['authorization_code'],
    response_types: ['code'],
    redirect_uris: [CALLBACK],
    scope: 'profile',
  },
];
const users = new Map([
  ['alice', { password: 'alice-password', name: 'Alice Example' }],
  ['bob', { password: 'bob-password', name: 'Bob Example' }],
]);

const server = createServer();
await new Promise((ok) => server.listen(Number(args.port), '127.0.0.1', ok));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients,
  clientAuthMethods: ['client_secret_basic', 'none'],
  scopes: ['openid', 'offline_access', 'profile', 'slots:read'],
  claims: { openid: ['sub'], profile: ['name'] },
  routes: {
    authorization: '/authorize',
    token: '/token',
    revocation: '/revoke',
    introspection: '/introspect',
  },
  features: {
    devInteractions: { enabled: false },
    revocation: { enabled: true },
    introspection: { enabled: true },
  },
  pkce: { required: () => true },
  // Flexslot: every client configured for the refresh grant gets a refresh token, and
  // every refresh rotates it.
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: true,
  ttl: {
    AuthorizationCode: 60,
    AccessToken: 3600,
    RefreshToken: 30 * 24 * 3600,
    Grant: 30 * 24 * 3600,
    Interaction: 600,
    Session: 3600,
  },
  cookies: { keys: ['flexslot-real-server-cookie-key'] },
  findAccount: async (_ctx, sub) => (users.has(sub)
    ? { accountId: sub, claims: async () => ({ sub, name: users.get(sub).name }) }
    : undefined),
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
});

// --- the sign-in and consent pages (the library's interaction API) ---

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (title, body) => `<!doctype html><html><head><meta charset="utf-8"><title>${escape(title)}</title></head><body><h1>${escape(title)}</h1>${body}</body></html>`;

async function formBody(ctx) {
  let text = '';
  for await (const chunk of ctx.req) {
    text += chunk;
    if (text.length > 64 * 1024) ctx.throw(413, 'the form is too large');
  }
  return new URLSearchParams(text);
}

async function interaction(ctx, next) {
  const m = ctx.path.match(/^\/interaction\/([^/]+)(\/(login|confirm|abort))?$/);
  if (!m) return next();
  ctx.set('cache-control', 'no-store');
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  if (details.uid !== m[1]) ctx.throw(400, 'this sign-in link is not the current one');
  const { prompt, params } = details;
  const client = await provider.Client.find(params.client_id);
  const action = m[3];
  if (ctx.method === 'GET' && !action) {
    ctx.type = 'html';
    if (prompt.name === 'login') {
      ctx.body = page('Sign in', `<form method="post" action="/interaction/${escape(details.uid)}/login">
        <label>Username <input name="username" autocomplete="username"></label>
        <label>Password <input type="password" name="password"></label>
        <button type="submit">Sign in</button></form>`);
    } else {
      const scopes = String(params.scope || '').split(' ').filter(Boolean);
      ctx.body = page(`${client?.clientName || params.client_id} wants to use your account`, `
        <ul>${scopes.map((s) => `<li>${escape(s)}</li>`).join('')}</ul>
        <form method="post" action="/interaction/${escape(details.uid)}/confirm"><button type="submit">Approve</button></form>
        <form method="post" action="/interaction/${escape(details.uid)}/abort"><button type="submit">Deny</button></form>`);
    }
    return undefined;
  }
  if (ctx.method !== 'POST') ctx.throw(405);
  if (action === 'login') {
    const form = await formBody(ctx);
    const user = users.get(form.get('username') || '');
    if (!user || user.password !== form.get('password')) {
      ctx.status = 401;
      ctx.type = 'html';
      ctx.body = page('Sign in', '<p>Wrong username or password.</p>');
      return undefined;
    }
    return provider.interactionFinished(ctx.req, ctx.res, { login: { accountId: form.get('username') } }, { mergeWithLastSubmission: false });
  }
  if (action === 'confirm') {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
    const missing = details.prompt.details.missingOIDCScope;
    if (missing) grant.addOIDCScope(missing.join(' '));
    const grantId = await grant.save();
    return provider.interactionFinished(ctx.req, ctx.res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }
  return provider.interactionFinished(ctx.req, ctx.res, {
    error: 'access_denied', error_description: 'The user denied the request.',
  }, { mergeWithLastSubmission: false });
}

// --- the resource (FX-RS-1, RFC 6750 §3) ---

const REALM = 'Bearer realm="flexslot"';

async function me(ctx, next) {
  if (ctx.path !== '/api/public/v1/me') return next();
  if (ctx.method !== 'GET') ctx.throw(405);
  const header = ctx.get('authorization');
  const [scheme, token, extra] = header.split(' ');
  if (!scheme || scheme.toLowerCase() !== 'bearer' || !token || extra !== undefined) {
    ctx.status = 401;
    ctx.set('www-authenticate', REALM);
    return undefined;
  }
  const at = await provider.AccessToken.find(token);
  if (!at) {
    const error = { error: 'invalid_token', error_description: 'The access token is unknown, expired or revoked.' };
    ctx.status = 401;
    ctx.set('www-authenticate', `${REALM}, error="invalid_token", error_description="${error.error_description}"`);
    ctx.body = error;
    return undefined;
  }
  if (!String(at.scope || '').split(' ').includes('profile')) {
    ctx.status = 403;
    ctx.set('www-authenticate', `${REALM}, error="insufficient_scope", scope="profile"`);
    ctx.body = { error: 'insufficient_scope', error_description: 'The token lacks the scope profile.' };
    return undefined;
  }
  const user = users.get(at.accountId);
  ctx.body = { sub: at.accountId, username: at.accountId, display_name: user?.name };
  return undefined;
}

provider.use(me);
provider.use(interaction);
provider.on('server_error', (_ctx, err) => console.error('server_error', err));

server.on('request', provider.callback());
console.log(`listening ${issuer}`);
