# wrk.sh -- reading wrk's output; sourced by the bench scripts.

# file -> "rps p50_ms p99_ms requests non2xx socket_errors" (latencies -1 when absent)
parse_wrk() {
  awk 'function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0;
                        if (v ~ /m$/) return v * 60000; if (v ~ /s$/) return v * 1000; return -1 }
    /Requests\/sec/ {rps = $2}
    $1 == "50%" {p50 = ms($2)} $1 == "99%" {p99 = ms($2)}
    / requests in / {n = $1}
    /Non-2xx or 3xx responses/ {bad = $NF}
    /Socket errors/ {gsub(/,/, ""); se = $4 + $6 + $8 + $10}
    END {printf "%s %s %s %s %d %d\n", rps + 0, (p50 == "" ? -1 : p50), (p99 == "" ? -1 : p99),
         n + 0, bad, se}' "$1"
}
