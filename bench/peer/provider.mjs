// The peer for benchmark 8: oidc-provider (the OpenID-certified Node.js provider) on the same
// machine, with one confidential client allowed the client-credentials grant and token
// introspection. Started by bench/bench.py as `node provider.mjs PORT`.
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
  }],
  features: {
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    devInteractions: { enabled: false },
  },
  // Opaque access tokens kept in the provider's in-memory adapter (its default).
  ttl: { ClientCredentials: 3600 },
});
provider.proxy = false;
provider.listen(port, '127.0.0.1', () => console.log(`oidc-provider listening on ${port}`));
