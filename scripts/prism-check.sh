#!/usr/bin/env bash
# Contract check of the specs against real answers: Stoplight Prism's
# validating proxy in front of a loopback server replaying real error and
# success answers of both platforms (scripts/prism-replay.py). Every request
# must come back with no violation (no `sl-violations` header, no error).
# Needs node/npx; not part of CI (it downloads Prism from the npm registry).
#   PRISM=/path/to/prism scripts/prism-check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
prism=${PRISM:-"npx --yes @stoplight/prism-cli@5"}
python3 scripts/prism-replay.py 18080 & replay=$!
$prism proxy openapi/chengxun.yaml http://127.0.0.1:18080 --port 18081 --errors >/tmp/prism-cx.log 2>&1 & p1=$!
$prism proxy openapi/wecom.yaml http://127.0.0.1:18080 --port 18082 --errors >/tmp/prism-wc.log 2>&1 & p2=$!
trap 'kill $replay $p1 $p2 2>/dev/null' EXIT
for port in 18081 18082; do
  for _ in $(seq 60); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.5; done
done
fail=0
check() { # port replay method path [body]
  local out
  if [ -n "${5:-}" ]; then
    out=$(curl -s -D - -X "$3" -H "x-replay: $2" -H 'content-type: application/json' --data "$5" "http://127.0.0.1:$1$4")
  else
    out=$(curl -s -D - -X "$3" -H "x-replay: $2" "http://127.0.0.1:$1$4")
  fi
  local status; status=$(printf '%s' "$out" | head -1 | tr -d '\r')
  if printf '%s' "$out" | grep -qi '^sl-violations' || ! printf '%s' "$status" | grep -q ' 200'; then
    echo "VIOLATION $2 $3 $4: $out"; fail=1
  else
    echo "ok  $2 $3 $4 ($status)"
  fi
}
q='corp_id=10001&corp_authorization=auth&temp_corp_secret=temp'
for r in cx-error cx-error-spent cx-ok; do check 18081 $r GET "/corp-service/v1/corp-secrets?$q"; done
t='suite_access_token=token'
for r in wc-ticket wc-busy wc-suite-ok; do
  check 18082 $r POST /cgi-bin/service/get_suite_token '{"suite_id":"ww1","suite_secret":"s","suite_ticket":"t"}'
done
for r in wc-token wc-expired wc-pre-ok; do check 18082 $r GET "/cgi-bin/service/get_pre_auth_code?$t"; done
for r in wc-token wc-session-ok; do
  check 18082 $r POST "/cgi-bin/service/set_session_info?$t" '{"pre_auth_code":"p","session_info":{"auth_type":1}}'
done
for path in get_permanent_code v2/get_permanent_code; do
  for r in wc-authcode wc-expired wc-pc2-ok; do check 18082 $r POST "/cgi-bin/service/$path?$t" '{"auth_code":"c"}'; done
done
for path in get_auth_info v2/get_auth_info; do
  for r in wc-permanent wc-token wc-info-ok; do
    check 18082 $r POST "/cgi-bin/service/$path?$t" '{"auth_corpid":"ww1","permanent_code":"p"}'
  done
done
for r in wc-permanent wc-corp-ok; do
  check 18082 $r POST "/cgi-bin/service/get_corp_token?$t" '{"auth_corpid":"ww1","permanent_code":"p"}'
done
if [ $fail = 0 ]; then echo "prism: no violation"; else echo "prism: violations (logs: /tmp/prism-*.log)"; exit 1; fi
