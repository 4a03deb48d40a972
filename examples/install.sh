#!/bin/sh
# Install the nsfix compliance job: the nsfix user, its directories, the fleet and environment
# files (never overwriting ones already there) and the systemd units. Safe to run again.
# Nothing is enabled unless --enable is given.
#
#   sudo sh examples/install.sh                  # install, enable nothing
#   sudo sh examples/install.sh --enable         # ... and start the daily timer
#   sudo sh examples/install.sh --cron --enable  # ... use /etc/cron.d instead of the timer
#
# nsfix itself is not installed here: put it in a virtualenv first, e.g.
#   python3 -m venv /opt/nsfix && /opt/nsfix/bin/pip install /path/to/nsfix
# (or pass --nsfix-bin PATH if it lives elsewhere).
#
# DESTDIR=/some/dir stages the files under that folder (for packaging and tests): no user is
# created, no owner is changed and systemctl is not called.

set -eu

usage() {
    cat <<'USAGE'
usage: install.sh [--enable] [--cron] [--nsfix-bin PATH] [--fleet-format yaml|toml]

  --enable           enable and start nsfix-audit.timer (or, with --cron, install the cron file)
  --cron             schedule with /etc/cron.d/nsfix-audit instead of the systemd timer
  --nsfix-bin PATH   the nsfix executable (default /opt/nsfix/bin/nsfix)
  --fleet-format F   install fleet.yaml (default) or fleet.toml as the starting fleet file
USAGE
}

ENABLE=0
CRON=0
NSFIX_BIN=/opt/nsfix/bin/nsfix
FLEET_FORMAT=yaml
while [ $# -gt 0 ]; do
    case "$1" in
        --enable) ENABLE=1 ;;
        --cron) CRON=1 ;;
        --nsfix-bin)
            [ $# -ge 2 ] || { usage >&2; exit 64; }
            NSFIX_BIN=$2
            shift
            ;;
        --fleet-format)
            [ $# -ge 2 ] || { usage >&2; exit 64; }
            FLEET_FORMAT=$2
            shift
            ;;
        -h|--help) usage; exit 0 ;;
        *) echo "install.sh: unknown option: $1" >&2; usage >&2; exit 64 ;;
    esac
    shift
done
case "$FLEET_FORMAT" in
    yaml|toml) ;;
    *) echo "install.sh: --fleet-format must be yaml or toml" >&2; exit 64 ;;
esac
case "$NSFIX_BIN" in
    *[\#\&\\\ ]*) echo "install.sh: --nsfix-bin: no spaces, #, & or \\ please" >&2; exit 64 ;;
    /*) ;;
    *) echo "install.sh: --nsfix-bin must be an absolute path" >&2; exit 64 ;;
esac

HERE=$(cd "$(dirname "$0")" && pwd)
DESTDIR=${DESTDIR:-}
USER_NAME=nsfix
STAGED=0
[ -n "$DESTDIR" ] && STAGED=1

if [ "$STAGED" -eq 0 ] && [ "$(id -u)" -ne 0 ]; then
    echo "install.sh: run as root (or set DESTDIR to stage the files)" >&2
    exit 1
fi

say() { echo "install.sh: $*"; }

# install(1) with an owner only when really installing: staging cannot chown.
put() { # mode owner group source destination
    if [ "$STAGED" -eq 1 ]; then
        install -m "$1" "$4" "$5"
    else
        install -m "$1" -o "$2" -g "$3" "$4" "$5"
    fi
}

make_dir() { # mode owner group path
    if [ "$STAGED" -eq 1 ]; then
        install -d -m "$1" "$4"
    else
        install -d -m "$1" -o "$2" -g "$3" "$4"
    fi
}

# The destination with the nsfix path the user chose.
put_rewritten() { # mode source destination
    tmp=$(mktemp)
    sed "s#/opt/nsfix/bin/nsfix#$NSFIX_BIN#g" "$2" >"$tmp"
    put "$1" root root "$tmp" "$3"
    rm -f "$tmp"
}

# 1. The user: a system account without a login shell, home /var/lib/nsfix.
if [ "$STAGED" -eq 0 ]; then
    if id "$USER_NAME" >/dev/null 2>&1; then
        say "user $USER_NAME exists"
    else
        nologin=$(command -v nologin || echo /usr/sbin/nologin)
        if command -v useradd >/dev/null 2>&1; then
            useradd --system --user-group --home-dir /var/lib/nsfix --no-create-home \
                --shell "$nologin" --comment "nsfix compliance job" "$USER_NAME"
        else
            addgroup -S "$USER_NAME"
            adduser -S -D -H -h /var/lib/nsfix -s "$nologin" -G "$USER_NAME" "$USER_NAME"
        fi
        say "created user $USER_NAME"
    fi
fi

# 2. Directories: configuration readable by the job, state and logs writable by it only.
make_dir 0750 root "$USER_NAME" "$DESTDIR/etc/nsfix"
make_dir 0750 "$USER_NAME" "$USER_NAME" "$DESTDIR/var/lib/nsfix"
make_dir 0750 "$USER_NAME" "$USER_NAME" "$DESTDIR/var/lib/nsfix/reports"
make_dir 0750 "$USER_NAME" "$USER_NAME" "$DESTDIR/var/log/nsfix"

# 3. Configuration: examples to edit, never over the user's own.
fleet="$DESTDIR/etc/nsfix/fleet.$FLEET_FORMAT"
if [ -e "$fleet" ]; then
    say "kept the existing $fleet"
else
    put 0640 root "$USER_NAME" "$HERE/fleet.$FLEET_FORMAT" "$fleet"
    say "installed $fleet: list your appliances in it"
fi
envfile="$DESTDIR/etc/nsfix/nsfix.env"
if [ -e "$envfile" ]; then
    say "refusing to overwrite the existing $envfile (it holds credentials); left as it is"
else
    put 0600 "$USER_NAME" "$USER_NAME" "$HERE/nsfix.env.example" "$envfile"
    say "installed $envfile (mode 0600): put the passwords in it"
fi
if [ "$FLEET_FORMAT" = toml ]; then
    say "note: the units read /etc/nsfix/fleet.yaml; point --fleet at fleet.toml in a drop-in"
fi

# 4. The schedule: systemd units always (inert until enabled), the cron file only on request.
make_dir 0755 root root "$DESTDIR/etc/systemd/system"
put_rewritten 0644 "$HERE/systemd/nsfix-audit.service" \
    "$DESTDIR/etc/systemd/system/nsfix-audit.service"
put_rewritten 0644 "$HERE/systemd/nsfix-audit.timer" \
    "$DESTDIR/etc/systemd/system/nsfix-audit.timer"
say "installed nsfix-audit.service and nsfix-audit.timer"

if [ "$STAGED" -eq 0 ] && [ ! -x "$NSFIX_BIN" ]; then
    say "warning: $NSFIX_BIN is not there yet; install nsfix before the first run"
fi
if [ "$STAGED" -eq 0 ] && command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    systemctl daemon-reload
fi

if [ "$ENABLE" -eq 0 ]; then
    say "nothing enabled. Try a run: systemctl start nsfix-audit.service"
    say "then schedule it: systemctl enable --now nsfix-audit.timer (or rerun with --enable)"
    exit 0
fi

if [ "$CRON" -eq 1 ]; then
    make_dir 0755 root root "$DESTDIR/etc/cron.d"
    put_rewritten 0644 "$HERE/cron/nsfix-audit" "$DESTDIR/etc/cron.d/nsfix-audit"
    say "installed $DESTDIR/etc/cron.d/nsfix-audit: runs daily at 06:15"
elif [ "$STAGED" -eq 0 ]; then
    systemctl enable --now nsfix-audit.timer
    say "enabled nsfix-audit.timer: systemctl list-timers nsfix-audit.timer"
else
    say "staged install: enable nsfix-audit.timer on the target host"
fi
