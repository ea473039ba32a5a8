"""--approve-cmd for the oidc-provider server (server.mjs): signs in on its sign-in page
and presses Approve or Deny on its consent page, with no test control and no browser.
The suite runs it as `python3 conformance/tests/real_servers/oidc_provider/approve.py`
with PP_URL, PP_USERNAME, PP_PASSWORD and PP_DECISION set; it prints the redirect to the
client last."""

import os
import sys

sys.dont_write_bytecode = True  # nothing written beside the committed scripts
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from pages import Pages, sign_in_then_decide  # noqa: E402

# server.mjs's sign-in page posts `username` and `password`; its consent page has an
# Approve and a Deny form.
Pages().run(sign_in_then_decide("username", "password"))
