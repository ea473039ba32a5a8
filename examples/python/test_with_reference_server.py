"""Use the reference server in your tests, from Python (issue 21 item 4).

Standard library only (unittest, subprocess, urllib). The test starts the
reference-server binary on port 0, reads its ready line, creates its own client
and user through the test controls, runs authorization code + PKCE without a
browser, calls the API, refreshes, and asserts on the requests the server
received. It stops the server with SIGTERM and expects exit 0.

    cargo build -p reference-server
    python3 -m unittest discover -s examples/python -v

The binary is $REFERENCE_SERVER, or target/debug/reference-server of this
repository.
"""

import base64
import hashlib
import json
import os
import secrets
import signal
import subprocess
import threading
import unittest
import urllib.error
import urllib.parse
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.environ.get(
    "REFERENCE_SERVER", os.path.join(REPO, "target", "debug", "reference-server")
)
REDIRECT_URI = "http://127.0.0.1:3000/callback"


def read_ready_line(process, timeout=30):
    """The first line of stdout, the ready line, parsed; fails after `timeout` s."""
    got = {}

    def read():
        got["line"] = process.stdout.readline()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    if not got.get("line"):
        process.kill()
        raise RuntimeError("reference-server printed no ready line")
    return json.loads(got["line"])


class Server:
    """A reference server for one test class: started on port 0, stopped with SIGTERM."""

    def __init__(self, *args):
        self.process = subprocess.Popen(
            [BINARY, "--listen", "127.0.0.1:0", "--test-controls", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # the banner and the logs
            text=True,
        )
        self.ready = read_ready_line(self.process)
        self.base_url = self.ready["base_url"]

    def stop(self):
        """SIGTERM: open requests finish, and the server exits 0."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)

    def call(self, method, path, json_body=None, form=None, headers=None, bearer=None):
        """(status, parsed JSON) of one request; errors are answers, not exceptions."""
        headers = dict(headers or {})
        data = None
        if json_body is not None:
            data = json.dumps(json_body).encode()
            headers["Content-Type"] = "application/json"
        elif form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if bearer:
            headers["Authorization"] = "Bearer " + bearer
        request = urllib.request.Request(
            self.base_url + path, data=data, headers=headers, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as reply:
                return reply.status, json.loads(reply.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def control(self, path, body=None, method="POST"):
        """A test control that must succeed."""
        status, answer = self.call(method, "/__test/" + path, json_body=body)
        if status >= 300:
            raise AssertionError(f"/__test/{path}: {status} {answer}")
        return answer


def basic(client_id, secret):
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def pkce_pair():
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return verifier, challenge


class FlexslotClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server("--profile", "flexslot")

    @classmethod
    def tearDownClass(cls):
        code = cls.server.stop()
        assert code == 0, f"the server exited {code} on SIGTERM"

    def setUp(self):
        # Tests share one server: each makes its own client and user, and none resets it.
        self.client_id = "py-" + secrets.token_hex(4)
        self.secret = secrets.token_urlsafe(16)
        self.server.control(
            "apps",
            {
                "client_id": self.client_id,
                "client_secret": self.secret,
                "allowed_scopes": ["profile"],
                "redirect_uris": [REDIRECT_URI],
            },
        )
        self.username = "user-" + secrets.token_hex(4)
        self.server.control("users", {"username": self.username})

    def token(self, form):
        return self.server.call(
            "POST",
            "/token",
            form=form,
            headers={"Authorization": basic(self.client_id, self.secret)},
        )

    def test_ready_line(self):
        ready = self.server.ready
        self.assertIs(ready["ready"], True)
        self.assertEqual(ready["profile"], "flexslot")
        self.assertEqual(ready["pid"], self.server.process.pid)
        self.assertTrue(ready["base_url"].startswith("http://127.0.0.1:"))

    def test_code_with_pkce_then_refresh(self):
        verifier, challenge = pkce_pair()
        query = urllib.parse.urlencode(
            {
                "response_type": "code",
                "client_id": self.client_id,
                "redirect_uri": REDIRECT_URI,
                "scope": "profile",
                "state": "abc",
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
        # The browser's part, without a browser: the user approves on the consent page.
        decided = self.server.control(
            "authorize/decide",
            {"url": "/authorize?" + query, "username": self.username, "approve": True},
        )
        location = urllib.parse.urlparse(decided["location"])
        params = urllib.parse.parse_qs(location.query)
        self.assertEqual(params["state"], ["abc"])
        code = params["code"][0]

        status, tokens = self.token(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT_URI,
                "code_verifier": verifier,
            }
        )
        self.assertEqual(status, 200, tokens)
        status, me = self.server.call(
            "GET", "/api/public/v1/me", bearer=tokens["access_token"]
        )
        self.assertEqual(status, 200, me)
        self.assertIn(self.username, json.dumps(me))

        status, refreshed = self.token(
            {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
        )
        self.assertEqual(status, 200, refreshed)
        self.assertNotEqual(refreshed["refresh_token"], tokens["refresh_token"])

        # The requests the server received from this client, oldest first, secrets redacted.
        received = self.server.control(
            "requests?client_id=" + self.client_id, method="GET"
        )["requests"]
        self.assertEqual(
            [(r["method"], r["path"], r["status"]) for r in received],
            [
                ("POST", "/token", 200),
                ("GET", "/api/public/v1/me", 200),
                ("POST", "/token", 200),
            ],
        )
        for r in received:
            self.assertEqual(r["client_id"], self.client_id)
        seqs = [r["seq"] for r in received]
        self.assertEqual(seqs, sorted(seqs), "oldest first")
        self.assertNotIn(tokens["refresh_token"], json.dumps(received))

    def test_minted_token_and_refused_app(self):
        minted = self.server.control(
            "tokens", {"client_id": self.client_id, "username": self.username}
        )
        status, _ = self.server.call(
            "GET", "/api/public/v1/me", bearer=minted["access_token"]
        )
        self.assertEqual(status, 200)
        # A second app with this id is refused in Flexslot's envelope; nothing changes.
        status, refused = self.server.call(
            "POST", "/__test/apps", json_body={"client_id": self.client_id}
        )
        self.assertEqual(status, 400)
        self.assertEqual(refused["error"], "invalid_request")
        self.assertIn("exists already", refused["error_description"])


if __name__ == "__main__":
    unittest.main()
