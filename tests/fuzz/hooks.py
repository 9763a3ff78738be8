"""Schemathesis hooks for the fuzz pass (loaded through SCHEMATHESIS_HOOKS by schemathesis.sh).

Tokens. Every operation the document marks as taking a bearer token is sent with a live one,
fetched for that very case, so nothing one case does to a session can leave another case with
a dead token:

- ordinary authenticated operations get a fresh operator session (GET /client_code for the
  captcha answer, handed out in test mode, then POST /users/signin);
- operations that put the account itself at risk get a throwaway account of their own:
  DELETE /users (a right password deletes it) and PATCH /users/password (wrong old passwords
  lock it for 15 minutes, a right one ends its other sessions). A throwaway account with a
  password is signed up through the API with a code caught by the sink; DELETE /users cases
  that send no `pwd` get a password-less (WeChat) account instead, as the contract asks
  `verify_code` of those only. A positive case for either that sends a password sends the
  right one (the harness holds it, as it holds the token), so their success paths run too.
  PATCH /users/signout, GET /users/exit and GET /users/token/refresh only end or replace the
  token's own session, which is already a session of its own.

The captcha. Its answer is handed out in test mode, so a positive POST /users/signin case is
sent with a real captcha and reaches the number, password, callback and terminal checks.

The operator itself. Schemathesis reuses values it saw in responses (the user list shows the
operator's id and phone), so a generated request could disable, demote or sign out the
operator, or fail its password five times and lock it, and every later case would be refused.
Just before a request is sent (`before_call`), any value equal to the operator's id or phone
is replaced by a decoy account's.

Checks. `live_harness_token` fails any case whose harness-issued token was answered 401
`token_*`: every authenticated operation is really exercised with a valid token.
`positive_data_acceptance` is replaced by `positive_data_acceptance_per_contract`: the same
check, except that a 400 whose reason is one the contract gives to a well-formed request with
a wrong secret (`captcha_invalid`, `verify_code_invalid`, `password_weak`,
`word_info_invalid`, `callback_not_registered`) counts as accepted. Schemathesis expects such
answers as 401/403/409/422; CONTRACT.md section 1 fixes them as 400. A 400 `invalid_params`
to a request the document calls valid still fails.

Environment (set by schemathesis.sh): GH_FUZZ_BASE, GH_FUZZ_SINK, GH_FUZZ_OPERATOR_NUMBER,
GH_FUZZ_OPERATOR_PASSWORD.
"""

import ast
import atexit
import functools
import itertools
import os
import random
import secrets
import threading
from typing import NamedTuple

import requests
import schemathesis
from schemathesis.generation.meta import negated_parameters
from schemathesis.specs.openapi.checks import positive_data_acceptance

# CPython before 3.11.8 / 3.12.1 (gh-106905) keeps the AST converter's recursion depth in
# state shared by threads, so two threads in `ast.parse` at once can fail with "SystemError:
# AST constructor recursion depth mismatch". Hypothesis parses source files to describe
# lambdas while generating, on every schemathesis worker thread; one parse at a time.
_ast_lock = threading.Lock()
_ast_parse = ast.parse


@functools.wraps(_ast_parse)
def _parse_one_at_a_time(*args, **kwargs):
    with _ast_lock:
        return _ast_parse(*args, **kwargs)


ast.parse = _parse_one_at_a_time

BASE = os.environ["GH_FUZZ_BASE"].rstrip("/")
SINK = os.environ["GH_FUZZ_SINK"].rstrip("/")
OPERATOR = (os.environ["GH_FUZZ_OPERATOR_NUMBER"], os.environ["GH_FUZZ_OPERATOR_PASSWORD"])
THROWAWAY_PASSWORD = "Fuzz-throwaway-9x!Q"

# (method, path template) of the operations that get a throwaway account.
THROWAWAY_OPS = {("DELETE", "/users"), ("PATCH", "/users/password")}

stats = {
    "operator sign-ins": 0,
    "throwaway accounts": 0,
    "operator values replaced": 0,
    "right passwords sent": 0,
    "captchas solved": 0,
}
_stats_lock = threading.Lock()


def count(what: str) -> None:
    with _stats_lock:
        stats[what] += 1


@atexit.register
def _summary() -> None:
    print("fuzz harness: " + ", ".join(f"{n} {what}" for what, n in stats.items()))


_http = threading.local()


def session() -> requests.Session:
    s = getattr(_http, "session", None)
    if s is None:
        s = _http.session = requests.Session()
    return s


def _ok(res: requests.Response, what: str) -> dict:
    if res.status_code // 100 != 2:
        raise RuntimeError(f"{what}: {res.status_code} {res.text[:300]}")
    return res.json()


def sign_in(number: str, password: str) -> str:
    """A new session for `number`: a captcha (its answer is handed out in test mode), sign-in."""
    s = session()
    captcha = _ok(s.get(f"{BASE}/client_code"), "GET /client_code")["data"]
    body = {
        "number": number,
        "pwd": password,
        "captcha_id": captcha["captcha_id"],
        "client_code": captcha["answer"],
    }
    return _ok(s.post(f"{BASE}/users/signin", json=body), "POST /users/signin")["data"]


class Account(NamedTuple):
    id: str
    phone: str
    token: str


# Mainland mobiles no other part of the run uses (the operator is 19900000001). Not the
# `random` module: Hypothesis seeds it for every example it generates.
_phones = itertools.count(random.Random().randrange(10_000_000, 80_000_000))
_phones_lock = threading.Lock()


def throwaway_account() -> Account:
    """Signs up a new phone account with a password through the API, and signs it in."""
    with _phones_lock:
        phone = f"199{next(_phones):08d}"
    s = session()
    _ok(s.post(f"{BASE}/verify_code", json={"number": phone, "purpose": "signup"}), "send code")
    code = _ok(s.get(f"{SINK}/codes/{phone}"), "the code from the sink")["code"]
    body = {"number": phone, "pwd": THROWAWAY_PASSWORD, "verify_code": code}
    user = _ok(s.post(f"{BASE}/users/signup", json=body), "POST /users/signup")["data"]
    count("throwaway accounts")
    return Account(user["id"], phone, sign_in(phone, THROWAWAY_PASSWORD))


_wechat = itertools.count()


def wechat_token() -> str:
    """A password-less account: a WeChat login (the sink accepts every code); its token."""
    code = f"fuzz-{secrets.token_hex(8)}-{next(_wechat)}"
    res = session().post(f"{BASE}/users/login", json={"code": code})
    count("throwaway accounts")
    return _ok(res, "POST /users/login (WeChat)")["data"]


def operator_token() -> str:
    count("operator sign-ins")
    return sign_in(*OPERATOR)


_identity_lock = threading.Lock()
_identity: dict[str, str] | None = None


def replacements() -> dict[str, str]:
    """The operator's id and phone (as sent either way), each mapped to a decoy account's."""
    global _identity
    with _identity_lock:
        if _identity is None:
            token = operator_token()
            res = session().get(f"{BASE}/users/token", headers={"Authorization": f"Bearer {token}"})
            me = _ok(res, "GET /users/token")["data"]
            decoy = throwaway_account()
            _identity = {
                me["id"]: decoy.id,
                me["phone"]: decoy.phone,
                "+86" + me["phone"]: "+86" + decoy.phone,
            }
        return _identity


def needs_token(case) -> bool:
    """Whether the document says the operation takes a bearer token."""
    security = case.operation.definition.raw.get("security") or []
    return any("bearer" in requirement for requirement in security)


def op_key(case) -> tuple[str, str]:
    return case.method.upper(), case.operation.path


def sends(case, field: str) -> bool:
    """Whether the case's body carries `field` as the server reads it (not empty, not null)."""
    body = case.body if isinstance(case.body, dict) else {}
    return body.get(field) not in (None, "")


# Tokens the harness handed out: a 401 for one of them is the harness's fault, not the
# fuzzer's.
issued: set[str] = set()


# No caching (refresh_interval=None): `get` runs for every case, so each has its own session.
@schemathesis.auth(refresh_interval=None)
class GatehouseAuth:
    def get(self, case, ctx):
        if not needs_token(case):
            return None
        key = op_key(case)
        if key == ("DELETE", "/users") and not sends(case, "pwd"):
            token = wechat_token()
        elif key in THROWAWAY_OPS:
            token = throwaway_account().token
        else:
            token = operator_token()
        issued.add(token)
        return token

    def set(self, case, data, ctx):
        if data is not None:
            case.headers = case.headers or {}
            case.headers["Authorization"] = f"Bearer {data}"


def _swap(value, table: dict[str, str]):
    if isinstance(value, str) and value in table:
        count("operator values replaced")
        return table[value]
    if isinstance(value, dict):
        return {k: _swap(v, table) for k, v in value.items()}
    if isinstance(value, list):
        return [_swap(v, table) for v in value]
    return value


@schemathesis.hook
def before_call(ctx, case, kwargs):
    # Leave the harness's operator alone (see the module's docstring).
    table = replacements()
    for name in ("path_parameters", "query", "body"):
        current = getattr(case, name, None)
        if current:
            swapped = _swap(current, table)
            if swapped != current:
                setattr(case, name, swapped)
    # The throwaway account's password is a credential the harness holds, like the token: a
    # positive case that sends one sends the right one, so the success paths run too (the
    # password changes, the account is deleted). Negative cases keep what was generated.
    field = PASSWORD_FIELDS.get(op_key(case))
    if field and positive(case) and sends(case, field):
        case.body = {**case.body, field: THROWAWAY_PASSWORD}
        count("right passwords sent")
    # Likewise the captcha (its answer is handed out in test mode): positive sign-ins get past
    # it to the number, the password, the callback and the terminal.
    if (
        op_key(case) == ("POST", "/users/signin")
        and positive(case)
        and sends(case, "captcha_id")
        and sends(case, "client_code")
    ):
        captcha = _ok(session().get(f"{BASE}/client_code"), "GET /client_code")["data"]
        case.body = {**case.body, "captcha_id": captcha["captcha_id"], "client_code": captcha["answer"]}
        count("captchas solved")


# Where DELETE /users and PATCH /users/password take the account's current password.
PASSWORD_FIELDS = {("DELETE", "/users"): "pwd", ("PATCH", "/users/password"): "old_pwd"}


def reason(response) -> str | None:
    try:
        return response.json()["data"]["error"]
    except (ValueError, KeyError, TypeError):
        return None


@schemathesis.check
def live_harness_token(ctx, response, case):
    """A token this harness issued for the case must still be live when the case is sent."""
    auth = response.request.headers.get("Authorization", "")
    if response.status_code == 401 and auth.startswith("Bearer ") and auth[7:] in issued:
        why = reason(response) or ""
        if why.startswith("token_"):
            raise AssertionError(f"the harness's fresh token was refused: {why}")


# The contract's 400 reasons for a well-formed request carrying a wrong secret.
SECRET_REFUSED = {
    "captcha_invalid",
    "verify_code_invalid",
    "password_weak",
    "word_info_invalid",
    "callback_not_registered",
}


# A partner's fields that only some modes take (PROTOCOLS section 2): the document lists each
# with its own rule, but OpenAPI cannot tie a field to the value of `mode`, so a body the
# document calls valid may send one to a mode that refuses it (400 invalid_params naming it).
MODE_FIELDS = {
    "callbacks",
    "redirect_uris",
    "post_logout_redirect_uris",
    "token_endpoint_auth_method",
    "id_token_signed_response_alg",
}


def refused_fields(response) -> set:
    try:
        return set(response.json()["data"]["fields"])
    except (ValueError, KeyError, TypeError):
        return set()


def oauth_refusal(case, response) -> bool:
    """A 400 from the OpenID Connect endpoints (PROTOCOLS section 3): their parameters are
    protocol values (a client id, a code, a redirect URI, an ID token) whose validity is the
    server's state, not their shape, so a document-valid request names an unknown one. The
    browser endpoints answer with the error page (reason in its detail), the others with
    OAuth's JSON error."""
    if not case.path.startswith("/oauth2/") or response.status_code != 400:
        return False
    content_type = response.headers.get("content-type") or ""
    if isinstance(content_type, list):
        content_type = content_type[0] if content_type else ""
    if content_type.startswith("text/html"):
        return 'id="error"' in response.text
    try:
        return response.json()["error"] in {
            "invalid_request",
            "invalid_grant",
            "invalid_scope",
            "unsupported_grant_type",
        }
    except (ValueError, KeyError, TypeError):
        return False


@schemathesis.check
def positive_data_acceptance_per_contract(ctx, response, case):
    """schemathesis's positive_data_acceptance, reading the contract's 400s for wrong secrets
    (CONTRACT.md section 1) as acceptance of a well-formed request; likewise a partner's
    field sent to a mode that does not take it, and the OpenID Connect endpoints' refusals of
    unknown protocol values."""
    try:
        return positive_data_acceptance(ctx, response, case)
    except Exception:
        if response.status_code == 400 and reason(response) in SECRET_REFUSED:
            return None
        if (
            case.path.startswith("/admin/api/clients")
            and response.status_code == 400
            and reason(response) == "invalid_params"
            and refused_fields(response)
            and refused_fields(response) <= MODE_FIELDS
        ):
            return None
        if oauth_refusal(case, response):
            return None
        raise


def meta_of(case):
    # `Case.meta` may revalidate a case that is not settled yet; the stored value is enough.
    return getattr(case, "_meta", None) or getattr(case, "meta", None)


def positive(case) -> bool:
    try:
        return bool(meta_of(case).generation.mode.is_positive)
    except AttributeError:
        return False


def negates_word_info(case) -> bool:
    return any(
        name.lower() == "word-info" and getattr(location, "name", "").upper() == "HEADER"
        for name, location in negated_parameters(meta_of(case))
    )


@schemathesis.hook
def filter_case(ctx, case):
    # POST /users/login: the `word-info` header matters to phone logins only, and OpenAPI
    # cannot tie a header to a body field, so the document has it optional. A phone login
    # without it is 400 invalid_params (CONTRACT.md: a missing required parameter); a WeChat
    # login (`code`) never reads it (any text is well-formed there). Cases that are "valid" or
    # "invalid" by the document only through that header are therefore not generated:
    # positive phone logins without it, negative WeChat logins whose mutation is the header.
    if op_key(case) == ("POST", "/users/login"):
        headers = case.headers or {}
        blank = not str(headers.get("word-info", "")).strip(" \t")
        wechat = sends(case, "code")
        if positive(case) and sends(case, "phone") and not wechat and blank:
            return False
        if wechat and negates_word_info(case):
            return False
    return True
