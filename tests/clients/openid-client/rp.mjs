// openid-client 6 (npm, unchanged) as a confidential RS256 relying party of Gatehouse, driven
// by tests/api/oidc/openid_client.rs.
//
// Line-delimited JSON over stdio. stdin, first line: {issuer, client_id, client_secret,
// redirect_uri, post_logout_redirect_uri, backchannel_port}. To have a URL opened in the
// test's browser (which signs in on Gatehouse's own pages) the script prints
// {"browse": url, "why": …} and reads back {"landed": location}, the Location that left the
// provider. Its last line is {"results": {…}}. Any failed check throws: exit 1, the reason on
// stderr. Tokens and secrets are never printed.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { createInterface } from 'node:readline';
import { inspect } from 'node:util';

import * as client from 'openid-client';
import * as jose from 'jose';

const BACKCHANNEL_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
async function readMessage() {
  const { value, done } = await lines.next();
  if (done) throw new Error('stdin closed before the test answered');
  return JSON.parse(value);
}
function send(message) {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}
async function browse(url, why) {
  send({ browse: url.href, why });
  const { landed } = await readMessage();
  return new URL(landed);
}

/** What a rejected promise was, for the checks that expect a refusal. */
async function refusal(promise) {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a refusal, the request succeeded');
}

/** The left half of SHA-256 of the access token, base64url (OIDC Core §3.1.3.6, RS256). */
function atHash(accessToken) {
  const digest = createHash('sha256').update(accessToken, 'ascii').digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
}

/** The back-channel receiver at the client's logout_url: resolves with the verified logout
 * token; answers 200 only to a token that passes every check (else 400, as OIDC Back-Channel
 * Logout §2.8 says). */
function backchannelReceiver(port, verify) {
  let resolve;
  let reject;
  const received = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', async () => {
      try {
        assert.equal(req.method, 'POST');
        assert.equal(req.url, '/backchannel');
        assert.match(req.headers['content-type'] ?? '', /^application\/x-www-form-urlencoded/);
        const form = new URLSearchParams(body);
        assert.deepEqual([...form.keys()], ['logout_token']);
        const checked = await verify(form.get('logout_token'));
        res.writeHead(200, { 'cache-control': 'no-store' }).end();
        resolve(checked);
      } catch (err) {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'invalid_request' }));
        reject(err);
      }
    });
  });
  return new Promise((res, rej) => {
    server.once('error', rej);
    server.listen(port, '127.0.0.1', () => res({ server, received }));
  });
}

async function main() {
  const cfg = await readMessage();
  const results = {};

  // Discovery over http loopback: openid-client refuses http unless allowInsecureRequests.
  const refusedHttp = await refusal(
    client.discovery(new URL(cfg.issuer), cfg.client_id, undefined, client.ClientSecretBasic(cfg.client_secret)),
  );
  assert.equal(refusedHttp.code, 'OAUTH_HTTP_REQUEST_FORBIDDEN', String(refusedHttp));

  const sent = [];
  const config = await client.discovery(
    new URL(cfg.issuer),
    cfg.client_id,
    { id_token_signed_response_alg: 'RS256' },
    client.ClientSecretBasic(cfg.client_secret),
    {
      execute: [client.allowInsecureRequests],
      // Only observes what the library sends (to prove its Basic encoding); the request
      // itself is the library's, unchanged.
      [client.customFetch]: (url, options) => {
        const headers = new Headers(options.headers);
        sent.push({
          path: new URL(url).pathname,
          authorization: headers.get('authorization'),
          body: typeof options.body === 'string' ? options.body : String(options.body ?? ''),
        });
        return fetch(url, options);
      },
    },
  );
  const meta = config.serverMetadata();
  assert.equal(meta.issuer, cfg.issuer);
  assert.equal(meta.authorization_response_iss_parameter_supported, true);
  assert.ok(meta.id_token_signing_alg_values_supported.includes('RS256'));
  assert.ok(meta.supportsPKCE('S256'));
  results.discovery = {
    issuer: meta.issuer,
    end_session_endpoint: meta.end_session_endpoint,
    refuses_http_without_opt_in: true,
  };

  const jwks = jose.createRemoteJWKSet(new URL(meta.jwks_uri));
  const { server, received } = await backchannelReceiver(cfg.backchannel_port, async (token) => {
    const { payload, protectedHeader } = await jose.jwtVerify(token, jwks, {
      issuer: cfg.issuer,
      audience: cfg.client_id,
      algorithms: ['RS256'],
      typ: 'logout+jwt',
      requiredClaims: ['iat', 'exp', 'jti', 'sid', 'events'],
      maxTokenAge: '2 minutes',
    });
    assert.equal(protectedHeader.typ, 'logout+jwt');
    assert.equal(typeof payload.aud, 'string');
    assert.equal(typeof payload.events, 'object');
    assert.deepEqual(payload.events[BACKCHANNEL_EVENT], {});
    assert.ok(!('nonce' in payload), 'a logout token has no nonce');
    return { payload, protectedHeader };
  });

  // 1. Authorization code with PKCE S256, state, nonce and max_age; the browser signs in.
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const authUrl = client.buildAuthorizationUrl(config, {
    redirect_uri: cfg.redirect_uri,
    scope: 'openid profile email phone',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    max_age: '300',
  });
  const callback = await browse(authUrl, 'sign-in');
  assert.equal(callback.searchParams.get('iss'), cfg.issuer);
  const sentBefore = sent.length;
  // The library checks iss, state, the code's PKCE, and the ID token (signature with the
  // JWKS, alg, iss, aud, exp, iat, nonce, auth_time against max_age).
  const first = await client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: verifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true,
    maxAge: 300,
  });
  const tokenRequest = sent.slice(sentBefore).find((r) => r.path === '/oauth2/token');
  assert.ok(tokenRequest.authorization?.startsWith('Basic '), 'Basic authentication');
  const basicUser = Buffer.from(tokenRequest.authorization.slice(6), 'base64').toString().split(':')[0];
  assert.equal(decodeURIComponent(basicUser), cfg.client_id);
  assert.ok(!new URLSearchParams(tokenRequest.body).has('client_secret'));
  const idClaims = first.claims();
  assert.equal(first.token_type.toLowerCase(), 'bearer');
  assert.equal(idClaims.nonce, nonce);
  assert.equal(idClaims.at_hash, atHash(first.access_token));
  assert.equal(jose.decodeProtectedHeader(first.id_token).alg, 'RS256');
  results.code_grant = {
    basic_user: basicUser,
    scope: first.scope,
    expires_in: first.expiresIn(),
    has_refresh_token: typeof first.refresh_token === 'string',
    id_token: {
      alg: jose.decodeProtectedHeader(first.id_token).alg,
      iss: idClaims.iss,
      aud: idClaims.aud,
      sub: idClaims.sub,
      sid: idClaims.sid,
      amr: idClaims.amr,
      auth_time_is_number: Number.isInteger(idClaims.auth_time),
      nonce_matches: true,
      at_hash_matches: true,
      phone_number: idClaims.phone_number,
    },
  };

  // 2. Userinfo (the library checks `sub` against the ID token's).
  const info = await client.fetchUserInfo(config, first.access_token, idClaims.sub);
  results.userinfo = { sub: info.sub, phone_number: info.phone_number };

  // 3. Introspection of the access token.
  const introspected = await client.tokenIntrospection(config, first.access_token);
  results.introspect_access = {
    active: introspected.active,
    client_id: introspected.client_id,
    sub: introspected.sub,
    sid: introspected.sid,
    token_type: introspected.token_type,
    scope: introspected.scope,
  };

  // 4. Refresh: rotated tokens, a new ID token for the same person and session.
  const second = await client.refreshTokenGrant(config, first.refresh_token);
  const refreshedClaims = second.claims();
  assert.notEqual(second.refresh_token, first.refresh_token);
  assert.notEqual(second.access_token, first.access_token);
  results.refresh = {
    rotated: true,
    same_sub: refreshedClaims.sub === idClaims.sub,
    same_sid: refreshedClaims.sid === idClaims.sid,
    same_auth_time: refreshedClaims.auth_time === idClaims.auth_time,
    nonce_absent: !('nonce' in refreshedClaims),
    at_hash_matches: refreshedClaims.at_hash === atHash(second.access_token),
  };
  const refreshActive = await client.tokenIntrospection(config, second.refresh_token);

  // 5. Revocation: the access token alone, then the refresh token (which takes the session's
  // tokens of this client with it).
  await client.tokenRevocation(config, second.access_token);
  const revokedAccess = await client.tokenIntrospection(config, second.access_token);
  const refreshAfterAccessRevoked = await client.tokenIntrospection(config, second.refresh_token);
  await client.tokenRevocation(config, second.refresh_token);
  const revokedRefresh = await client.tokenIntrospection(config, second.refresh_token);
  const refreshAfterRevocation = await refusal(client.refreshTokenGrant(config, second.refresh_token));
  assert.ok(refreshAfterRevocation instanceof client.ResponseBodyError, String(refreshAfterRevocation));
  results.revocation = {
    refresh_active_before: refreshActive.active,
    access_inactive_after: revokedAccess.active,
    refresh_untouched_by_access_revocation: refreshAfterAccessRevoked.active,
    refresh_inactive_after: revokedRefresh.active,
    refresh_grant_after: refreshAfterRevocation.error,
  };

  // 6. Single sign-on: a second authorization in the same browser gets a code at once; then
  // the rotated-out refresh token is presented again: invalid_grant, and the tokens it was
  // rotated into are revoked too.
  const verifier2 = client.randomPKCECodeVerifier();
  const state2 = client.randomState();
  const nonce2 = client.randomNonce();
  const silent = await browse(
    client.buildAuthorizationUrl(config, {
      redirect_uri: cfg.redirect_uri,
      scope: 'openid phone',
      code_challenge: await client.calculatePKCECodeChallenge(verifier2),
      code_challenge_method: 'S256',
      state: state2,
      nonce: nonce2,
    }),
    'single-sign-on',
  );
  const third = await client.authorizationCodeGrant(config, silent, {
    pkceCodeVerifier: verifier2,
    expectedState: state2,
    expectedNonce: nonce2,
    idTokenExpected: true,
  });
  const thirdClaims = third.claims();
  const fourth = await client.refreshTokenGrant(config, third.refresh_token);
  const reused = await refusal(client.refreshTokenGrant(config, third.refresh_token));
  assert.ok(reused instanceof client.ResponseBodyError, String(reused));
  const fourthAccess = await client.tokenIntrospection(config, fourth.access_token);
  const fourthRefresh = await client.tokenIntrospection(config, fourth.refresh_token);
  const userinfoAfter = await refusal(client.fetchUserInfo(config, fourth.access_token, thirdClaims.sub));
  assert.ok(userinfoAfter instanceof client.WWWAuthenticateChallengeError, String(userinfoAfter));
  results.reuse = {
    sso_same_sid: thirdClaims.sid === idClaims.sid,
    sso_scope: third.scope,
    reuse_error: reused.error,
    reuse_status: reused.status,
    new_access_active: fourthAccess.active,
    new_refresh_active: fourthRefresh.active,
    userinfo_status: userinfoAfter.status,
    userinfo_challenge: userinfoAfter.cause?.[0]?.scheme,
    userinfo_error: userinfoAfter.cause?.[0]?.parameters?.error,
  };

  // 7. RP-initiated logout: the browser follows the end-session URL; the session ends, the
  // browser comes back with our state, and the back-channel logout token arrives.
  const logoutState = client.randomState();
  const endSession = client.buildEndSessionUrl(config, {
    id_token_hint: first.id_token,
    post_logout_redirect_uri: cfg.post_logout_redirect_uri,
    state: logoutState,
  });
  const back = await browse(endSession, 'end-session');
  assert.equal(`${back.origin}${back.pathname}`, cfg.post_logout_redirect_uri);
  assert.equal(back.searchParams.get('state'), logoutState);
  results.end_session = { back_at_post_logout_uri: true, state_matches: true };

  const timeout = new Promise((_, reject) => {
    setTimeout(() => reject(new Error('no back-channel logout token within 10 s')), 10_000).unref();
  });
  const { payload, protectedHeader } = await Promise.race([received, timeout]);
  server.close();
  results.backchannel = {
    alg: protectedHeader.alg,
    typ: protectedHeader.typ,
    iss: payload.iss,
    aud: payload.aud,
    sid_matches_id_token: payload.sid === idClaims.sid,
    sub_matches: payload.sub === undefined || payload.sub === idClaims.sub,
    backchannel_event: BACKCHANNEL_EVENT in payload.events,
    nonce_absent: !('nonce' in payload),
  };
  assert.ok(results.backchannel.sid_matches_id_token, 'logout token sid is the ID token sid');
  assert.ok(results.backchannel.sub_matches, 'logout token sub is the ID token sub');

  send({ results });
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`openid-client RP failed: ${err?.stack ?? err}\n`);
    if (err?.status) process.stderr.write(`status: ${err.status}\n`);
    if (err?.cause) process.stderr.write(`cause: ${inspect(err.cause, { depth: 5 })}\n`);
    process.exit(1);
  },
);
