"""A relying party built on authlib's own OpenID Connect client code, unchanged, against a
Gatehouse on loopback: three clients (confidential RS256 with Basic, confidential EdDSA with
client_secret_post, public with PKCE), ID tokens validated by authlib (nonce, at_hash),
userinfo, refresh and refresh reuse, introspection, revocation, RP-initiated logout, and the
back-channel logout token checked with joserfc.

Configuration comes as JSON on stdin; one JSON line of results goes to stdout. Any failed
check raises, and the process exits non-zero.
"""

import html
import json
import re
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer

import requests
from authlib.integrations.base_client import BaseApp, OAuth2Mixin, OpenIDMixin
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

CONFIG = json.load(sys.stdin)
ISSUER = CONFIG["issuer"]
RESULTS = {}


class NoFramework:
    """authlib's apps keep tokens in a web framework; this RP keeps them in variables."""

    def update_token(self, *args, **kwargs):
        pass


class Client(OAuth2Mixin, OpenIDMixin, BaseApp):
    """What authlib's Flask and Starlette clients are, without the web framework."""

    client_cls = OAuth2Session


def client_for(c):
    kwargs = {"code_challenge_method": "S256", "scope": "openid profile email phone"}
    if c.get("auth") == "client_secret_post":
        kwargs["token_endpoint_auth_method"] = "client_secret_post"
    if c.get("secret") is None:
        kwargs["token_endpoint_auth_method"] = "none"
    return Client(
        NoFramework(),
        name=c["name"],
        client_id=c["client_id"],
        client_secret=c.get("secret"),
        server_metadata_url=f"{ISSUER}/.well-known/openid-configuration",
        client_kwargs=kwargs,
    )


class Browser:
    """A person's browser: keeps cookies, signs in on Gatehouse's own page."""

    def __init__(self):
        self.http = requests.Session()

    def get(self, url):
        if url.startswith("/"):
            url = ISSUER + url
        return self.http.get(url, allow_redirects=False, timeout=10)

    def sign_in(self, login_url):
        page = self.get(login_url)
        assert page.status_code == 200, page.status_code
        body = page.text

        def field(pattern):
            m = re.search(pattern, body)
            assert m, pattern
            return html.unescape(m.group(1))

        form = {
            "csrf": self.http.cookies.get("gh_csrf"),
            "method": "password",
            "number": CONFIG["user"],
            "pwd": CONFIG["password"],
            "captcha_id": field(r'name="captcha_id" id="captcha_id" value="([^"]*)"'),
            "client_code": field(r'data-test-answer="([^"]*)"'),
            "flow": field(r'name="flow" value="([^"]*)"'),
        }
        res = self.http.post(ISSUER + "/login", data=form, allow_redirects=False, timeout=10)
        assert res.status_code == 303, (res.status_code, res.text[:200])
        return res.headers["location"]

    def authorize(self, url):
        """Follows an authorization URL to the client's redirect URI, signing in if asked."""
        res = self.get(url)
        assert res.status_code == 302, res.status_code
        location = res.headers["location"]
        if "/login?flow=" in location:
            back = self.sign_in(location)
            res = self.get(back)
            assert res.status_code == 302, res.status_code
            location = res.headers["location"]
        return location


def callback_params(location, expected_state):
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
    assert "error" not in query, query
    # RFC 9207: the response names its issuer (authlib leaves this to the application).
    assert query["iss"] == ISSUER, query
    assert query["state"] == expected_state, query
    return query


def sign_in_and_exchange(browser, app, redirect_uri):
    """The authorization code flow through authlib; the token and its validated ID token."""
    rv = app.create_authorization_url(redirect_uri=redirect_uri)
    assert "code_challenge=" in rv["url"] and "nonce=" in rv["url"]
    query = callback_params(browser.authorize(rv["url"]), rv["state"])
    token = app.fetch_access_token(
        redirect_uri=redirect_uri, code=query["code"], code_verifier=rv["code_verifier"]
    )
    # authlib checks the signature (in the metadata's algs), iss, aud, exp, nonce, at_hash.
    userinfo = app.parse_id_token(token, nonce=rv["nonce"])
    return token, userinfo


def expect_oauth_error(call, error):
    try:
        call()
    except OAuthError as e:
        assert e.error == error, (e.error, e.description)
        return
    raise AssertionError(f"expected {error}")


class Backchannel(BaseHTTPRequestHandler):
    received = []

    def do_POST(self):
        length = int(self.headers.get("content-length", "0"))
        form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
        Backchannel.received.append((self.path, form.get("logout_token", "")))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def main():
    server = HTTPServer(("127.0.0.1", CONFIG["backchannel_port"]), Backchannel)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    browser = Browser()
    rs256, eddsa, public = (client_for(c) for c in CONFIG["clients"])
    redirects = [c["redirect_uri"] for c in CONFIG["clients"]]

    metadata = rs256.load_server_metadata()
    assert metadata["issuer"] == ISSUER
    RESULTS["discovery"] = True

    # 1. Confidential RS256 with client_secret_basic (authlib's default).
    token, claims = sign_in_and_exchange(browser, rs256, redirects[0])
    assert claims["sub"] and claims["sid"] and claims["amr"] == ["pwd"]
    header = json.loads(
        __import__("base64").urlsafe_b64decode(token["id_token"].split(".")[0] + "==")
    )
    assert header["alg"] == "RS256", header
    # authlib's framework clients put the ID token's claims in token["userinfo"].
    info = rs256.userinfo(token=token)
    assert info["sub"] == claims["sub"], (info, claims)
    assert info["phone_number"] == claims["phone_number"]
    RESULTS["rs256"] = {"sub": claims["sub"], "phone_number": info["phone_number"]}

    session = rs256._get_oauth_client(**metadata)
    introspected = session.introspect_token(metadata["introspection_endpoint"], token=token["access_token"]).json()
    assert introspected["active"] is True and introspected["client_id"] == CONFIG["clients"][0]["client_id"]
    refreshed = session.refresh_token(metadata["token_endpoint"], refresh_token=token["refresh_token"])
    assert refreshed["refresh_token"] != token["refresh_token"]
    again = rs256.parse_id_token(refreshed, nonce=None)
    assert again["sub"] == claims["sub"] and again["sid"] == claims["sid"]
    assert "nonce" not in again
    # Revocation of an access token: that token alone.
    res = session.revoke_token(metadata["revocation_endpoint"], token=refreshed["access_token"])
    assert res.status_code == 200
    inactive = session.introspect_token(metadata["introspection_endpoint"], token=refreshed["access_token"]).json()
    assert inactive == {"active": False}, inactive
    # The spent refresh token again: reuse, and the grant's tokens go with it.
    expect_oauth_error(
        lambda: session.refresh_token(metadata["token_endpoint"], refresh_token=token["refresh_token"]),
        "invalid_grant",
    )
    expect_oauth_error(
        lambda: session.refresh_token(metadata["token_endpoint"], refresh_token=refreshed["refresh_token"]),
        "invalid_grant",
    )
    RESULTS["refresh_reuse_revokes"] = True

    # A fresh grant for the logout part (the browser's session is still live: no sign-in).
    token, claims = sign_in_and_exchange(browser, rs256, redirects[0])

    # 2. Confidential EdDSA with client_secret_post: at_hash from SHA-512.
    token_ed, claims_ed = sign_in_and_exchange(browser, eddsa, redirects[1])
    header = json.loads(
        __import__("base64").urlsafe_b64decode(token_ed["id_token"].split(".")[0] + "==")
    )
    assert header["alg"] == "EdDSA", header
    assert claims_ed["sub"] == claims["sub"] and claims_ed["sid"] == claims["sid"]
    assert eddsa.userinfo(token=token_ed)["sub"] == claims["sub"]
    RESULTS["eddsa"] = True

    # 3. A public client: no secret, PKCE.
    token_pub, claims_pub = sign_in_and_exchange(browser, public, redirects[2])
    assert claims_pub["sub"] == claims["sub"]
    assert public.userinfo(token=token_pub)["sub"] == claims["sub"]
    RESULTS["public"] = True

    # 4. RP-initiated logout with authlib's end-session URL.
    out = rs256.create_logout_url(
        post_logout_redirect_uri=CONFIG["post_logout_redirect_uri"], id_token_hint=token["id_token"]
    )
    res = browser.get(out["url"])
    assert res.status_code == 302, (res.status_code, res.text[:300])
    back = urllib.parse.urlsplit(res.headers["location"])
    assert res.headers["location"].startswith(CONFIG["post_logout_redirect_uri"])
    assert dict(urllib.parse.parse_qsl(back.query))["state"] == out["state"]
    inactive = session.introspect_token(metadata["introspection_endpoint"], token=token["access_token"]).json()
    assert inactive == {"active": False}, inactive
    RESULTS["rp_logout"] = True

    # 5. The back-channel logout token, checked with joserfc against the JWKS.
    deadline = time.time() + 10
    while not Backchannel.received and time.time() < deadline:
        time.sleep(0.05)
    assert Backchannel.received, "no back-channel logout arrived"
    path, logout_token = Backchannel.received[0]
    assert path == "/backchannel", path
    keys = KeySet.import_key_set(requests.get(metadata["jwks_uri"], timeout=10).json())
    decoded = jwt.decode(logout_token, keys, registry=JWSRegistry(algorithms=["RS256"]))
    assert decoded.header["typ"] == "logout+jwt", decoded.header
    c = decoded.claims
    assert c["iss"] == ISSUER and c["aud"] == CONFIG["clients"][0]["client_id"], c
    assert c["sub"] == claims["sub"] and c["sid"] == claims["sid"], c
    assert "http://schemas.openid.net/event/backchannel-logout" in c["events"], c
    assert "nonce" not in c, c
    assert abs(c["iat"] - time.time()) < 600 and c["exp"] > c["iat"] and c["jti"]
    RESULTS["backchannel"] = True
    print(json.dumps(RESULTS))


if __name__ == "__main__":
    main()
