// The peer for benchmarks 8 and 10: oidc-provider (the OpenID-certified Node.js provider) on
// the same machine, with a confidential client allowed the client-credentials grant and token
// introspection (8), and a confidential relying party for the authorization code flow with
// PKCE (10), signed in through oidc-provider's own interactions. Started by bench/bench.py as
// `node provider.mjs PORT`.
import Provider from 'oidc-provider';

const port = Number(process.argv[2] || 3000);
const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [{
    client_id: 'bench',
    client_secret: 'bench-secret-bench-secret-bench-secret',
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
    token_endpoint_auth_method: 'client_secret_basic',
  }, {
    client_id: 'rp',
    client_secret: 'rp-secret-rp-secret-rp-secret-rp-secret',
    grant_types: ['authorization_code'],
    redirect_uris: ['http://127.0.0.1:1/cb'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  features: {
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    // Its built-in sign-in and consent pages: the bench signs in once through them, and the
    // session then satisfies every authorization request, as Gatehouse's does.
    devInteractions: { enabled: true },
  },
  // Opaque access tokens kept in the provider's in-memory adapter (its default).
  ttl: { ClientCredentials: 3600 },
});
provider.proxy = false;
provider.listen(port, '127.0.0.1', () => console.log(`oidc-provider listening on ${port}`));
