#!/usr/bin/env bash
# 50_auth.sh -- /api/auth (login, refresh, token description), every way a token is refused,
# login throttling per username and per address, AUTH_REQUIRED=0, and the JWT secret check.
. "$(dirname "$0")/../lib.sh"

CREDS=$VAR_DIR/demo-credentials
USER_LIMIT=5
ADDR_LIMIT=20
WINDOW_S=900

cred() { grep "^$1:" "$CREDS" | cut -d: -f2-; }

login() { # USERNAME PASSWORD [curl args...]
  http POST /api/auth -H 'Content-Type: application/json' \
    --data-binary "$(jq -nc --arg u "$1" --arg p "$2" '{username: $u, password: $p}')" "${@:3}"
}

refresh() { # REFRESH_TOKEN
  http POST /api/auth -H 'Content-Type: application/json' \
    --data-binary "$(jq -nc --arg t "$1" '{refresh_token: $t}')"
}

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
payload() { cut -d. -f2 <<<"$1" | tr '_-' '/+' | awk '{ while (length($0) % 4) $0 = $0 "="; print }' | openssl base64 -d -A; }

# sign HEADER_JSON PAYLOAD_JSON DIGEST KEY: a token signed by hand, independent of the C code.
sign() {
  local h p
  h=$(printf '%s' "$1" | b64url)
  p=$(printf '%s' "$2" | b64url)
  printf '%s.%s.%s' "$h" "$p" "$(printf '%s.%s' "$h" "$p" | openssl dgst -"$3" -hmac "$4" -binary | b64url)"
}

claims() { # EXP_OFFSET_S [TYPE]
  local now
  now=$(date +%s)
  jq -nc --argjson iat "$now" --argjson exp "$((now + $1))" --arg type "${2:-access}" \
    '{sub: "1", username: "admin", role: "admin", permissions: ["read_logs"], iat: $iat, exp: $exp, type: $type}'
}

# expect_401 NAME [curl args...]: GET /api/ml?action=status (read_logs) is refused with 401.
expect_401() {
  local name=$1
  shift
  http GET '/api/ml?action=status' "$@"
  if [ "$STATUS" = 401 ] && [ "$(jbody .error)" = UNAUTHORIZED ] &&
     grep -qi '^WWW-Authenticate: Bearer' "$HEADERS"; then
    pass "$name gives 401 with WWW-Authenticate"
  else
    fail "$name gives 401 with WWW-Authenticate" "$LAST_DETAIL"
  fi
}

reset_throttle() { sql "DELETE FROM login_failures" >/dev/null; }
reset_throttle

# ---- demo accounts and login ---------------------------------------------------------

check "demo credentials file is private (0600)" [ "$(stat -c %a "$CREDS")" = 600 ]
check "demo credentials hold the four accounts" \
  [ "$(cut -d: -f1 "$CREDS" | sort | tr '\n' ' ')" = "admin analyst user viewer " ]
check "stored hashes are PBKDF2-SHA256, not passwords" \
  [ "$(sql "SELECT count(*) FROM users WHERE username IN ('admin','analyst','user','viewer') AND password_hash LIKE 'pbkdf2_sha256\$600000\$%'")" = 4 ]

before=$(sql "SELECT coalesce(last_login, 'epoch') FROM users WHERE username = 'admin'")
login admin "$(cred admin)"
check "admin login answers 200" [ "$STATUS" = 200 ]
ACCESS=$(jbody .data.access_token)
REFRESH=$(jbody .data.refresh_token)
check "login body: bearer, 1800 s, both tokens" \
  jq -e '.success == true and .data.token_type == "bearer" and .data.expires_in == 1800 and (.data.access_token | length > 20) and (.data.refresh_token | length > 20) and has("timestamp")' "$BODY"
check "login user block matches the users table" \
  [ "$(jq -c '.data.user | [.id, .username, .email, .role, .permissions]' "$BODY")" = \
    "$(sql "SELECT json_build_array(id, username, email, role, permissions)::jsonb::text FROM users WHERE username = 'admin'" | jq -c .)" ]
check "login updates last_login" \
  [ "$(sql "SELECT last_login > '$before'::timestamptz AND last_login > now() - interval '1 minute' FROM users WHERE username = 'admin'")" = t ]
check "access token: type access, 1800 s, sub is the user id" \
  jq -e --arg id "$(sql "SELECT id FROM users WHERE username = 'admin'")" '.type == "access" and .exp - .iat == 1800 and .sub == $id and .username == "admin"' <(payload "$ACCESS")
check "refresh token: type refresh, 7 days" jq -e '.type == "refresh" and .exp - .iat == 604800' <(payload "$REFRESH")

for u in analyst user viewer; do
  login "$u" "$(cred "$u")"
  if [ "$STATUS" = 200 ] && [ "$(jq -c '[.data.user.role, .data.user.permissions]' "$BODY")" = \
       "$(sql "SELECT json_build_array(role, permissions)::jsonb::text FROM users WHERE username = '$u'" | jq -c .)" ]; then
    pass "$u logs in with the role and permissions of the users table"
  else
    fail "$u logs in with the role and permissions of the users table" "$LAST_DETAIL"
  fi
done
check "demo permission mapping" [ "$(sql "SELECT string_agg(username || '=' || role || ':' || (SELECT string_agg(p, ',' ORDER BY p) FROM jsonb_array_elements_text(permissions) p), ' ' ORDER BY username) FROM users WHERE username IN ('admin','analyst','user','viewer')")" = \
  "admin=admin:analyze_logs,ingest_logs,manage_system,read_logs,view_dashboard analyst=analyst:analyze_logs,read_logs,view_dashboard user=user:read_logs,view_dashboard viewer=viewer:view_dashboard" ]
VIEWER=$(jbody .data.access_token)

http GET '/api/ml?action=status' -H "Authorization: Bearer $ACCESS"
check "the login token opens a protected route" [ "$STATUS" = 200 ]
http GET '/api/ml?action=status' -H "Authorization: Bearer $VIEWER"
check "a token without the permission gets 403" [ "$STATUS" = 403 ]
check "403 uses the error body" jq -e '.error == "FORBIDDEN" and (.message | test("read_logs"))' "$BODY"

# ---- every way a token is refused ----------------------------------------------------

SECRET=$JWT_SECRET_KEY
expect_401 "no token"
expect_401 "Basic scheme" -H 'Authorization: Basic YWRtaW46YWRtaW4='
expect_401 "Bearer without a token" -H 'Authorization: Bearer '
expect_401 "malformed token" -H 'Authorization: Bearer not.a.token'
expect_401 "two-segment token" -H "Authorization: Bearer $(cut -d. -f1,2 <<<"$ACCESS")"
other=$(JWT_SECRET_KEY=another-secret-of-at-least-32-bytes-000 "$BUILD/tools/elogctl" token 1 admin admin read_logs)
expect_401 "token signed with another secret" -H "Authorization: Bearer $other"
h=$(printf '%s' '{"alg":"none","typ":"JWT"}' | b64url)
p=$(claims 600 | b64url)
expect_401 "alg none" -H "Authorization: Bearer $h.$p."
expect_401 "HS512 header" -H "Authorization: Bearer $(sign '{"alg":"HS512","typ":"JWT"}' "$(claims 600)" sha512 "$SECRET")"
expect_401 "expired token" -H "Authorization: Bearer $(sign '{"alg":"HS256","typ":"JWT"}' "$(claims -5)" sha256 "$SECRET")"
expect_401 "refresh token used as access token" -H "Authorization: Bearer $REFRESH"
tampered=$(cut -d. -f1 <<<"$ACCESS").$(printf '%s' "$(claims 600 | sed 's/"read_logs"/"read_logs","manage_system"/')" | b64url).$(cut -d. -f3 <<<"$ACCESS")
expect_401 "payload changed after signing" -H "Authorization: Bearer $tampered"
# The hand signer is right: the same recipe with a live exp is accepted.
http GET '/api/ml?action=status' -H "Authorization: Bearer $(sign '{"alg":"HS256","typ":"JWT"}' "$(claims 600)" sha256 "$SECRET")"
check "a hand-signed HS256 token with a future exp is accepted (the 401s above are real)" [ "$STATUS" = 200 ]

# ---- GET /api/auth --------------------------------------------------------------------

http GET /api/auth -H "Authorization: Bearer $ACCESS"
left=$(( $(payload "$ACCESS" | jq .exp) - $(date +%s) ))
check "GET /api/auth answers 200" [ "$STATUS" = 200 ]
check "GET /api/auth authentication block" jq -e '.success == true and .data.authentication.status == "active" and .data.authentication.method == "JWT"' "$BODY"
diff=$(( $(jbody .data.authentication.expires_in) - left ))
check "GET /api/auth expires_in is the token's time left" [ "$diff" -ge -2 -a "$diff" -le 2 ]
check "GET /api/auth user_info is the token's" \
  [ "$(jq -c '.data.user_info' "$BODY")" = "$(payload "$ACCESS" | jq -c '{username, role, permissions}')" ]
http GET /api/auth
check "GET /api/auth without a token gives 401" [ "$STATUS" = 401 -a "$(jbody .error)" = UNAUTHORIZED ]
http GET /api/auth -H "Authorization: Bearer $REFRESH"
check "GET /api/auth with a refresh token gives 401" [ "$STATUS" = 401 ]
http GET /api/auth -H "Authorization: Bearer $(sign '{"alg":"HS256","typ":"JWT"}' "$(claims -5)" sha256 "$SECRET")"
check "GET /api/auth with an expired token gives 401" [ "$STATUS" = 401 ]

# ---- refresh --------------------------------------------------------------------------

refresh "$REFRESH"
check "refresh answers 200 with a new access token" \
  jq -e '.success == true and .data.token_type == "bearer" and .data.expires_in == 1800 and (.data.access_token | length > 20) and (has("refresh_token") | not) and .data.user.username == "admin"' "$BODY"
NEW=$(jbody .data.access_token)
check "the refreshed token is an access token" jq -e '.type == "access" and .exp - .iat == 1800' <(payload "$NEW")
http GET '/api/ml?action=status' -H "Authorization: Bearer $NEW"
check "the refreshed token opens a protected route" [ "$STATUS" = 200 ]
refresh "$ACCESS"
check "an access token used as refresh token gives 401" [ "$STATUS" = 401 -a "$(jbody .error)" = UNAUTHORIZED ]
refresh "$(sign '{"alg":"HS256","typ":"JWT"}' "$(claims -5 refresh)" sha256 "$SECRET")"
check "an expired refresh token gives 401" [ "$STATUS" = 401 ]
refresh "$(sign '{"alg":"HS256","typ":"JWT"}' "$(claims 600 refresh)" sha256 "wrong-secret-wrong-secret-wrong-secret")"
check "a forged refresh token gives 401" [ "$STATUS" = 401 ]

login user "$(cred user)"
USER_REFRESH=$(jbody .data.refresh_token)
login user "not-the-password"
WRONG_MESSAGE=$(jbody .message)
sql "UPDATE users SET is_active = false WHERE username = 'user'" >/dev/null
refresh "$USER_REFRESH"
check "a deactivated account cannot refresh" [ "$STATUS" = 401 ]
login user "$(cred user)"
check "a deactivated account cannot log in, with the wrong-credentials message" \
  [ "$STATUS" = 401 -a "$(jbody .message)" = "$WRONG_MESSAGE" ]
sql "UPDATE users SET is_active = true WHERE username = 'user'" >/dev/null
refresh "$USER_REFRESH"
check "the account reactivated, its refresh token works again" [ "$STATUS" = 200 ]
reset_throttle

# ---- unknown user and wrong password look alike ---------------------------------------

t_wrong=$(curl -s -o /dev/null -w '%{time_total}' -X POST -H 'Content-Type: application/json' \
  -d '{"username":"admin","password":"wrong-password"}' "http://127.0.0.1:$HTTP_PORT/api/auth")
login admin wrong-password
wrong=$(jq -c '{error, message}' "$BODY")
wrong_status=$STATUS
t_unknown=$(curl -s -o /dev/null -w '%{time_total}' -X POST -H 'Content-Type: application/json' \
  -d '{"username":"no-such-user-x","password":"wrong-password"}' "http://127.0.0.1:$HTTP_PORT/api/auth")
login no-such-user-x wrong-password
check "wrong password and unknown user: same status" [ "$wrong_status" = 401 -a "$STATUS" = 401 ]
check "wrong password and unknown user: same error and message" [ "$(jq -c '{error, message}' "$BODY")" = "$wrong" ]
check "an unknown user costs a password hash too (timing)" \
  awk -v u="$t_unknown" -v w="$t_wrong" 'BEGIN { exit !(u >= 0.4 * w) }'
reset_throttle

# ---- throttling -----------------------------------------------------------------------

for i in $(seq "$USER_LIMIT"); do
  login analyst wrong-password
  [ "$STATUS" = 401 ] || fail "failure $i of $USER_LIMIT for a username gives 401" "$LAST_DETAIL"
done
login analyst "$(cred analyst)"
expected=$(sql "SELECT ceil(extract(epoch FROM window_start + interval '$WINDOW_S seconds' - now()))::int FROM login_failures WHERE key = 'user:analyst'")
check "after $USER_LIMIT failures the right password gets 429" [ "$STATUS" = 429 ]
check "429 body is TOO_MANY_REQUESTS" jq -e '.success == false and .error == "TOO_MANY_REQUESTS" and (.message | test("username"))' "$BODY"
retry=$(header Retry-After)
check "Retry-After is within the window" [ "${retry:-0}" -ge 1 -a "${retry:-0}" -le "$WINDOW_S" ]
check "Retry-After is the time left in the window" [ $(( ${retry:-0} - expected )) -ge -2 -a $(( ${retry:-0} - expected )) -le 2 ]
check "the throttle lives in the database" \
  [ "$(sql "SELECT failures > $USER_LIMIT FROM login_failures WHERE key = 'user:analyst'")" = t ]
login user "$(cred user)"
check "another username from the same address still logs in" [ "$STATUS" = 200 ]
reset_throttle

# Concurrent attempts cannot slip past the limit: exactly USER_LIMIT of 10 are checked.
for i in $(seq 10); do
  curl -s -o /dev/null -w '%{http_code}\n' -X POST -H 'Content-Type: application/json' \
    -d '{"username":"viewer","password":"wrong-password"}' "http://127.0.0.1:$HTTP_PORT/api/auth" \
    >"$RESP_DIR/par.$i" &
done
wait
check "10 concurrent failures: exactly $USER_LIMIT get 401, the rest 429" \
  [ "$(cat "$RESP_DIR"/par.* | sort | uniq -c | awk '{printf "%s:%s ", $2, $1}')" = "401:$USER_LIMIT 429:$((10 - USER_LIMIT)) " ]
reset_throttle

# Success resets the username's count and takes its own attempt back from the address.
for i in $(seq $((USER_LIMIT - 1))); do login analyst wrong-password; done
login analyst "$(cred analyst)"
check "a success after $((USER_LIMIT - 1)) failures logs in" [ "$STATUS" = 200 ]
check "the success cleared the username's count" \
  [ "$(sql "SELECT count(*) FROM login_failures WHERE key = 'user:analyst'")" = 0 ]
check "the success left the address count at the failures" \
  [ "$(sql "SELECT failures FROM login_failures WHERE key = 'addr:127.0.0.1'")" = $((USER_LIMIT - 1)) ]
for i in $(seq "$USER_LIMIT"); do login analyst wrong-password; done
check "after the reset $USER_LIMIT more failures are allowed" [ "$STATUS" = 401 ]
login analyst wrong-password
check "and the next is throttled" [ "$STATUS" = 429 ]
reset_throttle

# Per address: different usernames, one client address.
for i in $(seq "$ADDR_LIMIT"); do
  login "nobody-$i" wrong-password
  [ "$STATUS" = 401 ] || fail "failure $i of $ADDR_LIMIT from one address gives 401" "$LAST_DETAIL"
done
login "nobody-fresh" wrong-password
check "after $ADDR_LIMIT failures from one address a fresh username gets 429" [ "$STATUS" = 429 ]
check "the address 429 says so" jq -e '.error == "TOO_MANY_REQUESTS" and (.message | test("address"))' "$BODY"
check "the address 429 has Retry-After" [ "$(header Retry-After)" -ge 1 ]
login admin "$(cred admin)"
check "the throttled address cannot log in even with the right password" [ "$STATUS" = 429 ]
check "a throttled address adds no username rows" \
  [ "$(sql "SELECT count(*) FROM login_failures WHERE key IN ('user:nobody-fresh', 'user:admin')")" = 0 ]
login admin "$(cred admin)" --interface 127.0.0.2
check "another client address is not throttled" [ "$STATUS" = 200 ]
check "the other address was counted under its own key" \
  [ "$(sql "SELECT count(*) FROM login_failures WHERE key = 'addr:127.0.0.2'")" = 1 ]
reset_throttle

# ---- body validation ------------------------------------------------------------------

bad_body() { # NAME STATUS CODE PARAMETER|- BODY [content type]
  http POST /api/auth -H "Content-Type: ${6:-application/json}" --data-binary "$5"
  if [ "$STATUS" = "$2" ] && [ "$(jbody .error)" = "$3" ] &&
     { [ "$4" = - ] || [ "$(jbody .parameter)" = "$4" ]; }; then
    pass "$1"
  else
    fail "$1" "$LAST_DETAIL"
  fi
}
bad_body "body that is not JSON gives 400" 400 INVALID_JSON - 'username=admin'
bad_body "JSON array body gives 400" 400 INVALID_JSON - '["admin","x"]'
bad_body "numeric username gives 400 naming it" 400 INVALID_JSON username '{"username":1,"password":"x"}'
bad_body "username over 100 bytes gives 400" 400 INVALID_JSON username "{\"username\":\"$(head -c 101 /dev/zero | tr '\0' u)\",\"password\":\"x\"}"
bad_body "password over 1024 bytes gives 400" 400 INVALID_JSON password "{\"username\":\"admin\",\"password\":\"$(head -c 1025 /dev/zero | tr '\0' p)\"}"
bad_body "missing password gives 400" 400 INVALID_JSON - '{"username":"admin"}'
bad_body "login and refresh together give 400" 400 INVALID_JSON - '{"username":"a","password":"b","refresh_token":"c"}'
bad_body "body over 8 KiB gives 413" 413 PAYLOAD_TOO_LARGE - "{\"username\":\"admin\",\"password\":\"$(head -c 9000 /dev/zero | tr '\0' p)\"}"
bad_body "text/plain body gives 415" 415 UNSUPPORTED_MEDIA_TYPE - '{"username":"a","password":"b"}' text/plain
check "rejected bodies were not counted as attempts" [ "$(sql "SELECT count(*) FROM login_failures")" = 0 ]

# ---- AUTH_REQUIRED and the secret ------------------------------------------------------

restack AUTH_REQUIRED=0
http GET '/api/ml?action=status'
check "AUTH_REQUIRED=0 lets a protected route through without a token" [ "$STATUS" = 200 ]
http GET /api/health
check "health answers with AUTH_REQUIRED=0" [ "$STATUS" = 200 ]
http GET /api/auth
check "GET /api/auth still checks tokens with AUTH_REQUIRED=0" [ "$STATUS" = 401 ]
restack_default
http GET '/api/ml?action=status'
check "with the default AUTH_REQUIRED=1 the route needs a token again" [ "$STATUS" = 401 ]
http GET /api/health
check "health answers without a token with AUTH_REQUIRED=1" [ "$STATUS" = 200 ]

out=$(JWT_SECRET_KEY=0123456789abcdef0123456789abcde AUTH_REQUIRED=1 as_app "$BUILD/tools/elogctl" check-config 2>&1)
rc=$?
check "check-config refuses a 31-byte JWT_SECRET_KEY" [ "$rc" -ne 0 ]
check "the refusal names JWT_SECRET_KEY" grep -q JWT_SECRET_KEY <<<"$out"
out=$(JWT_SECRET_KEY=0123456789abcdef0123456789abcdef AUTH_REQUIRED=1 as_app "$BUILD/tools/elogctl" check-config 2>&1)
check "check-config accepts a 32-byte JWT_SECRET_KEY" [ $? -eq 0 ]
reset_throttle
