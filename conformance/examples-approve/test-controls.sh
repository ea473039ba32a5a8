#!/bin/sh
# Approves through the reference server's test controls (a stand-in for a Playwright script).
base=$(echo "$PP_URL" | sed -E 's#^(https?://[^/]+).*#\1#')
approve=true; [ "$PP_DECISION" = deny ] && approve=false
if [ "$PP_FLOW" = authorize ]; then
  curl -s -X POST "$base/__test/authorize/decide" -H 'content-type: application/json' \
    -d "{\"url\": \"$PP_URL\", \"username\": \"$PP_USERNAME\", \"approve\": $approve}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["location"])'
else
  curl -s -o /dev/null -X POST "$base/__test/device/decide" -H 'content-type: application/json' \
    -d "{\"user_code\": \"$PP_USER_CODE\", \"username\": \"$PP_USERNAME\", \"approve\": $approve}"
fi
