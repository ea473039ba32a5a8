"""Authlib's OAuth 2.0 provider on Flask (PyPI), set up as Authlib's Flask documentation
shows ("Flask OAuth 2.0 Server": an AuthorizationServer with the code and refresh grants,
the RFC 7636 extension, RFC 7009 and RFC 7662 endpoints, a ResourceProtector), and
configured like Flexslot as far as it goes, for conformance/tests/real_servers.rs:

- the fixture clients and users of fixtures/identities/flexslot.toml; HTTP Basic for
  confidential clients, none for the public one; fx-disabled is refused as an unknown
  client would be (Authlib's client model has no disabled state);
- PKCE for every client, S256 the only method named (CodeChallenge's documented class
  attributes); 60 s codes; 3600 s access tokens; refresh rotation, and a replayed rotated
  refresh token revokes its grant (FX-TOKEN-4, in `authenticate_refresh_token`);
- `/authorize`, `/token`, `/revoke`, `/introspect` and `GET /api/public/v1/me` (scope
  `profile`, realm `flexslot`);
- sign-in and consent pages of its own, as the documentation's example has.

Models are in memory, as the documentation's mixins allow, each table bounded. Flask's
own 404 and 405 pages are left as they are (HTML).

Usage: PYTHONPATH=SITE python3 server.py [--port N]
  SITE is the folder `pip install --target SITE -r requirements.txt` filled (.ci/run puts
  it under target/real-servers/authlib/). It listens on 127.0.0.1 (port 0 unless given)
  and prints `listening http://127.0.0.1:PORT` once it is ready.
"""

import argparse
import hmac
import secrets
import sys
import threading
import time
from collections import OrderedDict
from html import escape

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import ClientMixin, TokenMixin, grants
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from flask import Flask, redirect, request, session
from werkzeug.serving import make_server

CODE_LIFETIME = 60
ACCESS_LIFETIME = 3600
REFRESH_IDLE = 30 * 24 * 3600
MAX_ROWS = 100_000


class Table(OrderedDict):
    """A table that forgets its oldest rows past MAX_ROWS."""

    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        while len(self) > MAX_ROWS:
            self.popitem(last=False)


# --- the fixtures: fixtures/identities/flexslot.toml ---

CALLBACK = "http://127.0.0.1:8765/callback"


class Client(ClientMixin):
    def __init__(self, client_id, name, secret, scopes, grant_types, redirect_uri, active=True):
        self.client_id = client_id
        self.name = name
        self.secret = secret
        self.scopes = scopes
        self.grant_types = grant_types
        self.redirect_uris = [redirect_uri]
        self.active = active

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope):
        # The documentation's example: the requested scopes the client is allowed.
        if not scope:
            return ""
        return " ".join(s for s in scope.split() if s in self.scopes)

    def check_redirect_uri(self, redirect_uri):
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret):
        return self.secret is not None and hmac.compare_digest(self.secret, client_secret)

    def check_endpoint_auth_method(self, method, endpoint):
        return method == ("client_secret_basic" if self.secret else "none")

    def check_response_type(self, response_type):
        return response_type == "code"

    def check_grant_type(self, grant_type):
        return grant_type in self.grant_types


BOTH = ["authorization_code", "refresh_token"]
CLIENTS = {
    c.client_id: c
    for c in [
        Client("fx-web", "Slot Planner", "fx-web-secret", ["profile", "slots:read"], BOTH, CALLBACK),
        Client("fx-spa", "Slot Peek", None, ["profile"], BOTH, "http://127.0.0.1:8765/spa"),
        Client("fx-codeonly", "One Shot", "fx-codeonly-secret", ["profile"], ["authorization_code"], CALLBACK),
        Client("fx-disabled", "Old Planner", "fx-disabled-secret", ["profile"], BOTH, CALLBACK, active=False),
    ]
}
USERS = {
    "alice": ("alice-password", "Alice Example"),
    "bob": ("bob-password", "Bob Example"),
}


def query_client(client_id):
    client = CLIENTS.get(client_id)
    return client if client is not None and client.active else None


# --- codes and tokens ---


class AuthorizationCode:
    def __init__(self, code, request, user):
        self.code = code
        self.client_id = request.client.client_id
        self.redirect_uri = request.payload.redirect_uri
        self.scope = request.payload.scope or ""
        self.user = user
        self.code_challenge = request.payload.data.get("code_challenge")
        self.code_challenge_method = request.payload.data.get("code_challenge_method")
        self.issued_at = time.time()

    def get_redirect_uri(self):
        return self.redirect_uri

    def get_scope(self):
        return self.scope

    def is_expired(self):
        return time.time() > self.issued_at + CODE_LIFETIME


class Token(TokenMixin):
    """One token answer: an access token and its refresh token, of one grant."""

    def __init__(self, token, request, grant_id):
        self.access_token = token["access_token"]
        self.refresh_token = token.get("refresh_token")
        self.scope = token.get("scope", "")
        self.client_id = request.client.client_id
        self.user = request.user
        self.grant_id = grant_id
        self.issued_at = int(time.time())
        self.refreshed_at = self.issued_at
        self.revoked = False
        self.rotated = False

    def check_client(self, client):
        return client.client_id == self.client_id

    def get_scope(self):
        return self.scope

    def get_expires_in(self):
        return ACCESS_LIFETIME

    def is_expired(self):
        return time.time() > self.issued_at + ACCESS_LIFETIME

    def is_revoked(self):
        return self.revoked

    def get_user(self):
        return self.user

    def get_client(self):
        return CLIENTS[self.client_id]


codes = Table()
by_access = Table()
by_refresh = Table()
state_lock = threading.Lock()


def save_token(token, request):
    old = getattr(request, "refresh_token", None)
    grant_id = old.grant_id if isinstance(old, Token) else secrets.token_hex(8)
    row = Token(token, request, grant_id)
    by_access[row.access_token] = row
    if row.refresh_token:
        by_refresh[row.refresh_token] = row


def revoke_grant(grant_id):
    for row in list(by_access.values()):
        if row.grant_id == grant_id:
            row.revoked = True


class CodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "none"]

    def save_authorization_code(self, code, request):
        codes[code] = AuthorizationCode(code, request, request.user)

    def query_authorization_code(self, code, client):
        item = codes.get(code)
        if item and item.client_id == client.client_id and not item.is_expired():
            return item
        return None

    def delete_authorization_code(self, authorization_code):
        codes.pop(authorization_code.code, None)

    def authenticate_user(self, authorization_code):
        return authorization_code.user


class RefreshGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "none"]
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token):
        row = by_refresh.get(refresh_token)
        if row is None:
            return None
        if row.rotated:
            # FX-TOKEN-4: a replayed rotated refresh token revokes its grant.
            revoke_grant(row.grant_id)
            return None
        if row.revoked or time.time() > row.refreshed_at + REFRESH_IDLE:
            return None
        return row

    def authenticate_user(self, refresh_token):
        return refresh_token.user

    def revoke_old_credential(self, refresh_token):
        refresh_token.revoked = True
        refresh_token.rotated = True


class S256Only(CodeChallenge):
    """PKCE for every client, S256 the only method named (Flexslot)."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant, redirect_uri):
        if not grant.request.payload.data.get("code_challenge"):
            from authlib.oauth2.rfc6749 import InvalidRequestError

            raise InvalidRequestError("Missing 'code_challenge'")
        return super().validate_code_challenge(grant, redirect_uri)


def find_token(token_string, _hint):
    return by_access.get(token_string) or by_refresh.get(token_string)


class Revocation(RevocationEndpoint):
    CLIENT_AUTH_METHODS = ["client_secret_basic", "none"]

    def query_token(self, token_string, token_type_hint):
        return find_token(token_string, token_type_hint)

    def revoke_token(self, token, request):
        token.revoked = True


class Introspection(IntrospectionEndpoint):
    CLIENT_AUTH_METHODS = ["client_secret_basic", "none"]

    def query_token(self, token_string, token_type_hint):
        return find_token(token_string, token_type_hint)

    def introspect_token(self, token):
        return {
            "active": True,
            "client_id": token.client_id,
            "token_type": "Bearer",
            "username": token.user,
            "scope": token.get_scope(),
            "sub": token.user,
            "exp": token.issued_at + ACCESS_LIFETIME,
            "iat": token.issued_at,
        }

    def check_permission(self, token, client, request):
        return token.client_id == client.client_id


class Validator(BearerTokenValidator):
    def authenticate_token(self, token_string):
        return by_access.get(token_string)


# --- the app ---

app = Flask(__name__)
app.config.update(
    SECRET_KEY=secrets.token_hex(32),
    OAUTH2_SCOPES_SUPPORTED=["profile", "slots:read"],
    OAUTH2_REFRESH_TOKEN_GENERATOR=True,
    OAUTH2_TOKEN_EXPIRES_IN={"authorization_code": ACCESS_LIFETIME, "refresh_token": ACCESS_LIFETIME},
)
server = AuthorizationServer(app, query_client=query_client, save_token=save_token)
server.register_grant(CodeGrant, [S256Only(required=True)])
server.register_grant(RefreshGrant)
server.register_endpoint(Revocation)
server.register_endpoint(Introspection)
require_oauth = ResourceProtector()
require_oauth.register_token_validator(Validator(realm="flexslot"))


def page(title, body, status=200):
    html = f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title></head><body><h1>{escape(title)}</h1>{body}</body></html>"
    return html, status, {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}


def csrf_token():
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(16)
    return session["csrf"]


def csrf_ok():
    return hmac.compare_digest(session.get("csrf", "-"), request.form.get("csrf_token", ""))


@app.route("/login", methods=["POST"])
def login():
    username = request.form.get("username", "")
    expected = USERS.get(username)
    if not csrf_ok() or expected is None or not hmac.compare_digest(expected[0], request.form.get("password", "")):
        return page("Sign in", "<p>Wrong username or password.</p>", 401)
    session["user"] = username
    nxt = request.form.get("next", "/")
    return redirect(nxt if nxt.startswith("/authorize") else "/")


@app.route("/authorize", methods=["GET", "POST"])
def authorize():
    user = session.get("user")
    if request.method == "GET":
        # The request is judged before anyone signs in: an error goes back at once.
        try:
            grant = server.get_consent_grant(end_user=user)
        except OAuth2Error as error:
            if getattr(error, "redirect_uri", None):
                return server.handle_error_response(request, error)
            return page("This sign-in link is not valid", f"<p>{escape(error.error)}</p>", 400)
        if user is None:
            form = (
                f"<form method='post' action='/login'>"
                f"<input type='hidden' name='csrf_token' value='{escape(csrf_token())}'>"
                f"<input type='hidden' name='next' value='{escape(request.full_path)}'>"
                "<label>Username <input name='username'></label>"
                "<label>Password <input type='password' name='password'></label>"
                "<button type='submit'>Sign in</button></form>"
            )
            return page("Sign in", form)
        client = grant.client
        scopes = "".join(f"<li>{escape(s)}</li>" for s in (grant.request.payload.scope or "").split())
        form = (
            f"<ul>{scopes}</ul><form method='post' action='{escape(request.full_path)}'>"
            f"<input type='hidden' name='csrf_token' value='{escape(csrf_token())}'>"
            "<button type='submit' name='decision' value='approve'>Approve</button>"
            "<button type='submit' name='decision' value='deny'>Deny</button></form>"
        )
        return page(f"{client.name} wants to use your account", form)
    if user is None or not csrf_ok():
        return page("Sign in again", "<p>Your session ended.</p>", 400)
    approved = request.form.get("decision") == "approve"
    with state_lock:
        return server.create_authorization_response(grant_user=user if approved else None)


@app.route("/token", methods=["POST"])
def issue_token():
    with state_lock:
        return server.create_token_response()


@app.route("/revoke", methods=["POST"])
def revoke():
    with state_lock:
        return server.create_endpoint_response(Revocation.ENDPOINT_NAME)


@app.route("/introspect", methods=["POST"])
def introspect():
    with state_lock:
        return server.create_endpoint_response(Introspection.ENDPOINT_NAME)


@app.route("/api/public/v1/me")
@require_oauth("profile")
def me():
    from authlib.integrations.flask_oauth2 import current_token

    user = current_token.user
    return {"sub": user, "username": user, "display_name": USERS[user][1]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    http = make_server("127.0.0.1", args.port, app, threaded=True)
    print(f"listening http://127.0.0.1:{http.server_port}", flush=True)
    http.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
