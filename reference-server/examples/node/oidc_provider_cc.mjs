// oidc-provider 8.x (installed by conformance/tests/real_servers/install.sh) with one
// client-credentials client, for comparing its token and introspection endpoints with the
// reference server's under wrk (docs/benchmark.md, "Against a certified Node server").
// Usage: node oidc_provider_cc.mjs NODE_MODULES_DIR PORT
import { createServer } from 'node:http';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
const modules = process.argv[2]; const port = Number(process.argv[3] || 0);
const { default: Provider } = await import(pathToFileURL(join(resolve(modules), 'oidc-provider', 'lib', 'index.js')).href);
const server = createServer();
await new Promise((ok) => server.listen(port, '127.0.0.1', ok));
const issuer = `http://127.0.0.1:${server.address().port}`;
const provider = new Provider(issuer, {
  clients: [{ client_id: 'cc', client_secret: 'cc-secret', token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['client_credentials'], response_types: [], redirect_uris: [], scope: 'api:read' }],
  clientAuthMethods: ['client_secret_basic'],
  scopes: ['api:read'],
  routes: { token: '/token', introspection: '/introspect' },
  features: { devInteractions: { enabled: false }, clientCredentials: { enabled: true }, introspection: { enabled: true } },
  ttl: { ClientCredentials: 3600 },
});
server.on('request', provider.callback());
console.log(`listening ${issuer}`);
