"""--approve-cmd for the Authlib server (server.py): signs in on its sign-in page
and presses Approve or Deny on its consent page, with no test control and no browser.
The suite runs it as `python3 conformance/tests/real_servers/authlib/approve.py`
with PP_URL, PP_USERNAME, PP_PASSWORD and PP_DECISION set; it prints the redirect to the
client last."""

import os
import sys

sys.dont_write_bytecode = True  # nothing written beside the committed scripts
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from pages import Pages, sign_in_then_decide  # noqa: E402

# server.py's sign-in page posts `username`, `password` and its hidden fields; its consent
# page has an Approve and a Deny button.
Pages().run(sign_in_then_decide("username", "password"))
