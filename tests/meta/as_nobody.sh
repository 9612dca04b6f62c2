# as_nobody.sh CMD...: runs CMD as an unprivileged user (nobody, no
# capabilities) when run as root, else as is. For meta.skip's probes:
# a test that needs privilege must skip (77) there.
if [ "$(id -u)" = 0 ]; then
	exec setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all "$@"
fi
exec "$@"
