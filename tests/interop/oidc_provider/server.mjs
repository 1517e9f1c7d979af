// An OAuth 2.0 / OpenID Connect server nobody on this project wrote (oidc-provider from npm),
// set up like Entra for the sign-in engine's interoperability test: the EXO public client id,
// Entra-style endpoint paths under /<tenant>/oauth2/v2.0/, device flow and PKCE (S256 required
// for public clients), refresh tokens for offline_access, and its own development login pages.
//
// Usage: node server.mjs <resource>   (prints "issuer <url>" once listening on 127.0.0.1)
import http from 'node:http';
import Provider from 'oidc-provider';

const resource = (process.argv[2] || 'http://127.0.0.1:9').replace(/\/$/, '');
const server = http.createServer();
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'fb78d390-0c51-40cd-8e17-fdbfab77341b',
    application_type: 'native',
    token_endpoint_auth_method: 'none',
    redirect_uris: ['http://localhost/'],
    grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
    response_types: ['code'],
  }],
  routes: {
    authorization: '/organizations/oauth2/v2.0/authorize',
    token: '/organizations/oauth2/v2.0/token',
    device_authorization: '/organizations/oauth2/v2.0/devicecode',
    code_verification: '/devicelogin',
  },
  scopes: ['openid', 'offline_access', 'profile', `${resource}/.default`],
  claims: { openid: ['sub'], profile: ['preferred_username', 'tid', 'name'] },
  conformIdTokenClaims: false,
  features: {
    devInteractions: { enabled: true },
    deviceFlow: { enabled: true },
    resourceIndicators: { enabled: false },
  },
  async findAccount(_ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, preferred_username: id, name: id, tid: 'interop-tenant' };
      },
    };
  },
  cookies: { keys: ['interop-test-only-key'] },
  pkce: { required: () => true },
  ttl: { AccessToken: 600, RefreshToken: 3600 },
});
// Entra announces a polling interval; keep the test fast.
provider.on('device_authorization.success', (_ctx, body) => { body.interval = 1; });
provider.on('server_error', (_ctx, err) => { console.error('server_error', err); });

server.on('request', provider.callback());
console.log(`issuer ${issuer}`);
