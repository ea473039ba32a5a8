"""A browser's part in an approval, with Python's standard library only: what each real
server's `approve.py` (the suite's --approve-cmd, docs/conformance.md "Approval drivers")
shares. It follows redirects within the server's origin with a cookie jar, reads the
forms of the server's own HTML pages, and stops at the first redirect that leaves the
origin: the client's redirect URI, where nobody listens, which it prints as its last line.

A server's script says which form signs in and which decides (`Pages.run`'s `pick`).
"""

import html.parser
import http.cookiejar
import os
import sys
import urllib.error
import urllib.parse
import urllib.request

MAX_STEPS = 20
TIMEOUT_S = 20


class Form:
    def __init__(self, action, method):
        self.action = action
        self.method = method.lower() or "get"
        self.fields = []  # (name, value, type)
        self.buttons = []  # (name, value, text)

    def has_password(self):
        return any(t == "password" for _, _, t in self.fields)

    def text(self):
        return " ".join(t for _, _, t in self.buttons).lower()


class _FormParser(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms = []
        self._button = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append(Form(a.get("action") or "", a.get("method") or "get"))
        elif not self.forms:
            return
        elif tag == "input":
            kind = (a.get("type") or "text").lower()
            if kind in ("submit", "button"):
                self.forms[-1].buttons.append((a.get("name"), a.get("value") or "", (a.get("value") or "")))
            else:
                self.forms[-1].fields.append((a.get("name"), a.get("value") or "", kind))
        elif tag == "button":
            self._button = [a.get("name"), a.get("value") or "", ""]

    def handle_data(self, data):
        if self._button is not None:
            self._button[2] += data.strip()

    def handle_endtag(self, tag):
        if tag == "button" and self._button is not None and self.forms:
            self.forms[-1].buttons.append(tuple(self._button))
            self._button = None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def fail(why):
    print(f"approve: {why}", file=sys.stderr)
    sys.exit(1)


class Pages:
    """One approval: `PP_URL` decided as `PP_USERNAME` (`PP_PASSWORD`), `PP_DECISION`."""

    def __init__(self):
        self.url = os.environ.get("PP_URL") or fail("PP_URL is not set")
        self.username = os.environ.get("PP_USERNAME", "")
        self.password = os.environ.get("PP_PASSWORD", "")
        self.approve = os.environ.get("PP_DECISION", "approve") == "approve"
        origin = urllib.parse.urlsplit(self.url)
        self.origin = (origin.scheme, origin.netloc)
        jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(jar), _NoRedirect()
        )

    def send(self, url, data=None):
        """(status, absolute Location or None, body text) of one request."""
        body = None if data is None else urllib.parse.urlencode(data).encode()
        req = urllib.request.Request(url, data=body)
        try:
            with self.opener.open(req, timeout=TIMEOUT_S) as r:
                return r.status, None, r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            location = e.headers.get("location")
            text = e.read().decode("utf-8", "replace")
            return e.code, location and urllib.parse.urljoin(url, location), text

    def leaves_origin(self, url):
        u = urllib.parse.urlsplit(url)
        return (u.scheme, u.netloc) != self.origin

    def run(self, pick):
        """Follows the pages until a redirect leaves the origin, and prints it.

        `pick(pages, forms)` answers the form to submit and the fields to send, or None
        when the page is not one it knows (then the script fails, quoting the page)."""
        url, data = self.url, None
        for _ in range(MAX_STEPS):
            status, location, text = self.send(url, data)
            if location:
                if self.leaves_origin(location):
                    print(location)
                    return
                url, data = location, None
                continue
            parser = _FormParser()
            parser.feed(text)
            chosen = pick(self, parser.forms)
            if chosen is None:
                fail(f"{url} answered {status} with no form to act on: {text[:300]!r}")
            form, fields = chosen
            target = urllib.parse.urljoin(url, form.action or url)
            if form.method == "post":
                url, data = target, fields
            else:
                url, data = f"{target}?{urllib.parse.urlencode(fields)}", None
        fail(f"no redirect out of the server after {MAX_STEPS} pages")

    def sign_in_fields(self, form, username_field, password_field):
        """Every field of the sign-in form (hidden ones included), the credentials filled."""
        fields = [(n, v) for n, v, _ in form.fields if n and n not in (username_field, password_field)]
        return fields + [(username_field, self.username), (password_field, self.password)]


def hidden_fields(form):
    return [(n, v) for n, v, _ in form.fields if n]


def button_form(forms, word):
    """The form whose button says `word` (case-insensitive), and that button's field."""
    for form in forms:
        for name, value, text in form.buttons:
            if word in (text or value).lower():
                extra = [(name, value)] if name else []
                return form, hidden_fields(form) + extra
    return None


def sign_in_then_decide(username_field, password_field):
    """A `pick` for servers whose sign-in form has a password field and whose consent
    page has one button saying Approve and one saying Deny."""

    def pick(pages, forms):
        for form in forms:
            if form.has_password():
                return form, pages.sign_in_fields(form, username_field, password_field)
        return button_form(forms, "approve" if pages.approve else "deny")

    return pick
