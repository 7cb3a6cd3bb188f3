#!/usr/bin/env bash
# 10_runtime.sh -- the worker runtime through nginx: health, CORS, OPTIONS, 405, 404,
# request ids, malformed query strings, access log.
. "$(dirname "$0")/../lib.sh"

http GET /api/health
check "health answers 200" [ "$STATUS" = 200 ]
check "health status is healthy" [ "$(jbody .status)" = healthy ]
check "health database check ok with a latency" jq -e '.checks.database.status == "ok" and (.checks.database.latency_ms | type == "number")' "$BODY"
check "health pool has the original fields" jq -e '.checks.pool | .pool_initialized == true and .pool_exists == true and .database_url_set == true' "$BODY"
check "health pool has live figures" jq -e '.checks.pool | (.size >= 1) and (.connects >= 1) and (.host_budget.limit >= 1) and has("reconnects") and has("acquire_timeouts") and has("closes_by_reason")' "$BODY"
check "health body has service, version, environment, timestamp" jq -e '.service == "Engineering Log Intelligence System" and (.version | length > 0) and (.environment | length > 0) and (.timestamp | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$"))' "$BODY"
check "content type is application/json" [ "$(header Content-Type)" = application/json ]
check "the body's length is given (Content-Length)" [ "$(header Content-Length)" = "$(stat -c %s "$BODY")" ]
check "so nginx does not chunk the body" [ -z "$(header Transfer-Encoding)" ]
check "CORS origin header" [ "$(header Access-Control-Allow-Origin)" = '*' ]
check "CORS methods header" grep -qi '^Access-Control-Allow-Methods: GET, POST, OPTIONS' "$HEADERS"
check "CORS headers header" grep -qi '^Access-Control-Allow-Headers: Content-Type, Authorization' "$HEADERS"
check "worker pid header matches body" [ "$(header X-Worker-Pid)" = "$(jbody .worker.pid)" ]
check "generated request id" [ -n "$(header X-Request-Id)" ]

http GET /api/health -H 'X-Request-Id: trace-abc.123'
check "client request id is echoed" [ "$(header X-Request-Id)" = trace-abc.123 ]
check "access log line carries route, status, duration, request id, pid" \
  wait_until 3 grep -q "access route=health method=GET status=200 duration_us=[0-9]* request_id=trace-abc.123 pid=$(header X-Worker-Pid)" "$LOG_DIR/health.log"
http GET /api/health -H 'X-Request-Id: bad id;<script>'
check "insane request id is replaced" [ "$(header X-Request-Id)" != 'badid;<script>' ] 

http OPTIONS /api/health
check "OPTIONS answers 204" [ "$STATUS" = 204 ]
check "OPTIONS has no body" [ ! -s "$BODY" ]
check "OPTIONS (204) has no Content-Length" [ -z "$(header Content-Length)" ]
check "OPTIONS carries CORS" [ "$(header Access-Control-Allow-Origin)" = '*' ]

http DELETE /api/health
check "DELETE answers 405" [ "$STATUS" = 405 ]
check "405 has an Allow header" [ "$(header Allow)" = "GET,OPTIONS" ]
check "405 uses the error body" jq -e '.success == false and .error == "METHOD_NOT_ALLOWED" and (.message | length > 0) and has("timestamp")' "$BODY"
http POST /api/health -H 'Content-Type: application/json' -d '{}'
check "POST to a GET-only route answers 405" [ "$STATUS" = 405 ]

http GET /api/nosuchroute
check "unknown route answers 404 JSON" [ "$STATUS" = 404 ] 

# Malformed query strings: each a 400 with the error body, never a 5xx.
long=$(head -c 5000 /dev/zero | tr '\0' a)
many=$(for i in $(seq 40); do printf 'p%d=1&' "$i"; done)
for q in '%' '%zz' 'a=%4' 'a=%00' 'a=%C3%28' 'a=%ED%A0%80' 'a=%C0%AF' 'a=%F8%88%80%80%80' \
         "a=$long" "$many" 'a=1&a=2' '=x' 'a=%FF'; do
  http GET "/api/health?$q"
  if [ "$STATUS" = 400 ] && jq -e '.success == false and .error == "INVALID_PARAMETER"' "$BODY" >/dev/null; then
    pass "malformed query ${q:0:24} gives 400"
  else
    fail "malformed query ${q:0:24} gives 400" "$LAST_DETAIL"
  fi
done
http GET '/api/health?note=caf%C3%A9+ok'
check "well-formed UTF-8 query is accepted" [ "$STATUS" = 200 ]

# A body past nginx's own limit gets the API's error shape too.
head -c 17000000 /dev/zero | tr '\0' ' ' > "$RESP_DIR/huge"
http POST /api/logs -H "Authorization: Bearer $(token admin)" -H 'Content-Type: application/json' --data-binary @"$RESP_DIR/huge"
check "a 17 MB body gets 413" [ "$STATUS" = 413 ]
check "the 413 has the JSON error body" jq -e '.success == false and .error == "PAYLOAD_TOO_LARGE"' "$BODY"
http POST /api/logs -H "Authorization: Bearer $(token admin)" -H 'Content-Type: text/csv' -d 'a,b'
check "a wrong media type gets 415 naming the accepted ones" jq -e '.error == "UNSUPPORTED_MEDIA_TYPE" and (.message | test("application/x-ndjson"))' "$BODY"
