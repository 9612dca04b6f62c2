# ctl.config_cli: `vstackctl config` and `vstackctl policy` report the
# effective configuration, its sources and policy decisions, and fail with
# the configuration module's precise message on a bad file.
set -eu
ctl=$VS_BUILD/src/ctl/vstackctl
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cat > "$tmp/ok.conf" <<'CONF'
cores = 2
rule = kernel tcp_server * 22
rule = offload tcp 10.0.0.0/8 *
CONF
printf 'cores = 2\nnonsense\n' > "$tmp/bad.conf"

out=$(env -u VSTACK_CONFIG VSTACK_LOG=info "$ctl" config -f "$tmp/ok.conf")
echo "$out" | grep -qx "cores       = 2                    # file" || fail "cores: $out"
echo "$out" | grep -qx "log         = info                 # env" || fail "log: $out"
echo "$out" | grep -qx "rule        = kernel tcp_server \* 22 # file, rule 1" || fail "rule: $out"

out=$("$ctl" policy -f "$tmp/ok.conf" tcp_server 10.1.2.3 22)
[ "$out" = "kernel (rule 1: kernel tcp_server * 22)" ] || fail "policy 22: $out"
out=$("$ctl" policy -f "$tmp/ok.conf" tcp_client 10.1.2.3 443)
[ "$out" = "offload (rule 2: offload tcp 10.0.0.0/8 *)" ] || fail "policy 443: $out"
out=$("$ctl" policy -f "$tmp/ok.conf" udp fd00::1 53)
[ "$out" = "offload (no rule matched: default)" ] || fail "policy udp: $out"

if err=$("$ctl" config -f "$tmp/bad.conf" 2>&1); then fail "bad config accepted"; fi
[ "$err" = "vstackctl: $tmp/bad.conf:2: malformed line 'nonsense' (expected 'key = value', a '#' comment or a blank line)" ] || fail "message: $err"
if err=$(VSTACK_CORES=zero "$ctl" config -f "$tmp/ok.conf" 2>&1); then fail "bad env accepted"; fi
[ "$err" = "vstackctl: VSTACK_CORES: key 'cores': bad value 'zero' (accepted: all, or a number of cores 1..1024)" ] || fail "env message: $err"

"$ctl" --help | grep -q "^  policy" || fail "help lists no policy command"
"$ctl" policy --help | grep -q "^usage: vstackctl policy" || fail "policy --help"
if "$ctl" frobnicate 2>/dev/null; then fail "unknown command accepted"; fi
echo "ctl.config_cli: ok"
