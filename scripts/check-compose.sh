#!/usr/bin/env bash
# Checks docker-compose.yml and the Dockerfile on a machine without a Docker engine.
#
#   scripts/check-compose.sh            static checks (needs Go; uses docker-compose if installed)
#   scripts/check-compose.sh --runtime  also runs what the containers would run, on this machine
#
# Static checks:
#   1. compose-go v2 (the library behind `docker compose config`) loads docker-compose.yml:
#      interpolation, Compose Specification JSON schema, references between services. With the
#      secrets set it must load; without them it must refuse, naming each missing variable.
#   2. `docker compose config` / Debian's docker-compose 1.29 `config`, when installed (1.29 does
#      not know the top-level `name:` key, so it gets the file without that line).
#   3. BuildKit's Dockerfile checks (those of `docker build --check`), offline: base images are
#      not pulled, a stub answers for them.
# Runtime checks (--runtime), all on loopback, nothing is built into an image and no container runs:
#   4. billflow-db's SQL, run twice with psql against a throwaway PostgreSQL cluster holding
#      Temporal's two databases: the billflow role can use its database and not Temporal's.
#   5. The image's file set, in a temp dir: the build stage (its COPY list, `npm run build`, its
#      `rm -rf` of the stand-ins), then the image's COPY list and the build output with
#      `npm ci --omit=dev`; `dev` and `trigger` must refuse there. temporal-namespace's script
#      against a Temporal dev server, then the worker (on that PostgreSQL, as role billflow, from
#      the prebuilt workflow bundle) and the receiver from that tree, until both healthchecks of
#      docker-compose.yml pass.
# The Go checkers are built once into ${XDG_CACHE_HOME:-~/.cache}/billflow/compose-check.
# SC2015: `check && pass || fail` is meant, pass only echoes. SC2016: the Go sources are literal.
# SC2317: cleanup runs from the EXIT trap.
# shellcheck disable=SC2015,SC2016,SC2317
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$(pwd)

runtime=false
for arg in "$@"; do
  case "$arg" in
    --runtime) runtime=true ;;
    -h | --help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg" >&2; exit 2 ;;
  esac
done

COMPOSE_GO_VERSION=v2.16.2
BUILDKIT_VERSION=v0.34.2
cache="${XDG_CACHE_HOME:-$HOME/.cache}/billflow/compose-check"
failures=0
pass() { echo "  ok: $*"; }
fail() { echo "  FAILED: $*"; failures=$((failures + 1)); }
skip() { echo "  skipped: $*"; }

# Placeholder secrets for the checks; none of them is a real credential.
secrets=(POSTGRES_PASSWORD=check-postgres BILLFLOW_DB_PASSWORD=check-billflow
  GOCARDLESS_WEBHOOK_SECRET=check-webhook-secret GOCARDLESS_ACCESS_TOKEN=check-token)
required_variables=(POSTGRES_PASSWORD BILLFLOW_DB_PASSWORD GOCARDLESS_WEBHOOK_SECRET GOCARDLESS_ACCESS_TOKEN)
# Compose reads .env beside the file: the checks run with a clean environment and no .env.
clean_env() { env -i PATH="$PATH" HOME="$HOME" "$@"; }

build_go_tool() { # name, module@version, main.go text
  local dir="$cache/$1-${2##*@}"
  if [[ ! -x "$dir/$1" ]]; then
    echo "  building $1 with $2 (once)…" >&2
    mkdir -p "$dir"
    printf '%s\n' "$3" >"$dir/main.go"
    (cd "$dir" && rm -f go.mod go.sum && go mod init "$1" >/dev/null 2>&1 && go get "$2" >/dev/null 2>&1 &&
      go mod tidy >/dev/null 2>&1 && go build -o "$1" .) || { echo "  could not build $1" >&2; return 1; }
  fi
  printf '%s\n' "$dir/$1"
}

COMPOSE_CHECK_GO='// Loads a Compose file as `docker compose config` does and prints the resolved model.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	opts, err := cli.NewProjectOptions(os.Args[1:], cli.WithOsEnv)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	project, err := opts.LoadProject(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	out, err := project.MarshalYAML()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Stdout.Write(out)
}'

DOCKERFILE_CHECK_GO='// BuildKit Dockerfile checks (as `docker build --check`), offline: base images get a stub config.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	digest "github.com/opencontainers/go-digest"
)

type offlineResolver struct{}

func (offlineResolver) ResolveImageConfig(_ context.Context, ref string, _ sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	config := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers"},"config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]}}`)
	return ref, digest.FromBytes(config), config, nil
}

func main() {
	dt, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	sourceMap := llb.NewSourceMap(nil, os.Args[1], "Dockerfile", dt)
	sourceMap.Definition = &llb.Definition{}
	res, err := dockerfile2llb.DockerfileLint(context.Background(), dt, dockerfile2llb.ConvertOpt{SourceMap: sourceMap, MetaResolver: offlineResolver{}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, w := range res.Warnings {
		line := 0
		if len(w.Location.Ranges) > 0 {
			line = int(w.Location.Ranges[0].Start.Line)
		}
		fmt.Printf("%s:%d: %s: %s\n", os.Args[1], line, w.RuleName, w.Detail)
	}
	if res.Error != nil {
		fmt.Println("error:", res.Error.Message)
		os.Exit(1)
	}
	if len(res.Warnings) > 0 {
		os.Exit(1)
	}
}'

echo "==> Compose file: compose-go ${COMPOSE_GO_VERSION} (docker compose's loader)"
if command -v go >/dev/null && compose_check=$(build_go_tool compose-check "github.com/compose-spec/compose-go/v2@${COMPOSE_GO_VERSION}" "$COMPOSE_CHECK_GO"); then
  if out=$(clean_env "${secrets[@]}" "$compose_check" docker-compose.yml 2>&1); then
    services=$(awk '/^services:/{in_services=1; next} /^[a-z]/{in_services=0} in_services && /^  [a-z0-9-]+:$/{print substr($1, 1, length($1) - 1)}' <<<"$out" | tr '\n' ' ')
    pass "docker-compose.yml loads and validates; services: ${services}"
  else
    fail "docker-compose.yml does not load: $out"
  fi
  if out=$(clean_env "$compose_check" docker-compose.yml 2>&1); then
    fail "docker-compose.yml loads without the secrets set"
  else
    for variable in "${required_variables[@]}"; do
      grep -q "required variable ${variable} is missing a value" <<<"$out" &&
        pass "without ${variable}, Compose refuses to start" || fail "${variable} is not required"
    done
  fi
else
  fail "Go is needed for this check"
fi

echo "==> Compose file: docker compose / docker-compose, if installed"
checked_cli=false
if docker compose version >/dev/null 2>&1; then
  checked_cli=true
  clean_env "${secrets[@]}" docker compose -f docker-compose.yml config -q && pass "docker compose config" || fail "docker compose config"
fi
if command -v docker-compose >/dev/null; then
  checked_cli=true
  v1_file="$(mktemp -d)/docker-compose.yml"
  sed '/^name: /d' docker-compose.yml >"$v1_file"
  if out=$(clean_env "${secrets[@]}" docker-compose -p billflow --project-directory "$repo" -f "$v1_file" config -q 2>&1); then
    pass "$(docker-compose version --short) config (without the top-level name:)"
  else
    fail "docker-compose config: $out"
  fi
  rm -rf "$(dirname "$v1_file")"
fi
$checked_cli || skip "neither is installed (Debian: apt-get install docker-compose)"

echo "==> Dockerfile: BuildKit ${BUILDKIT_VERSION} checks"
if command -v go >/dev/null && dockerfile_check=$(build_go_tool dockerfile-check "github.com/moby/buildkit@${BUILDKIT_VERSION}" "$DOCKERFILE_CHECK_GO"); then
  if out=$("$dockerfile_check" Dockerfile 2>&1); then pass "no warnings"; else fail "$out"; fi
else
  fail "Go is needed for this check"
fi

if ! $runtime; then
  echo
  ((failures == 0)) && echo "All static checks passed (--runtime runs the rest)." || echo "${failures} check(s) failed."
  exit $((failures > 0))
fi

# ---------------------------------------------------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/billflow-compose-check.XXXXXX")
pids=()
server_build=''
pg_ctl_bin=''
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [[ -n "$pg_ctl_bin" ]]; then as_postgres "$pg_ctl_bin" -D "$work/pg" -m immediate stop >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
# A value from docker-compose.yml, as the container sees it (`$$` is Compose's escape for `$`).
compose_value() { # service, js expression on the service
  node -e "const {parse}=require('yaml');const s=parse(require('fs').readFileSync('docker-compose.yml','utf8')).services['$1'];const v=$2;process.stdout.write(String(v).replace(/\\$\\$/g,'\$'))"
}
# PostgreSQL refuses to run as root.
as_postgres() { if ((EUID == 0)); then runuser -u postgres -- "$@"; else "$@"; fi; }
wait_for() { # description, seconds, command…
  local description=$1 seconds=$2 i
  shift 2
  for ((i = 0; i < seconds; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 1; done
  echo "  timed out after ${seconds}s waiting for ${description}" >&2
  return 1
}

echo "==> billflow-db's SQL against a throwaway PostgreSQL"
pg_bin=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
[[ -d "$pg_bin" ]] || pg_bin=''

pg_port=''
if [[ -z "$pg_bin" ]] || ! command -v psql >/dev/null; then
  skip "PostgreSQL server binaries or psql not installed (Debian: apt-get install postgresql)"
else
  pg_ctl_bin="$pg_bin/pg_ctl"
  mkdir -p "$work/pg" "$work/pgsock"
  ((EUID == 0)) && chown postgres "$work" "$work/pg" "$work/pgsock"
  chmod 755 "$work"
  pg_port=$(free_port)
  printf '%s\n' check-postgres >"$work/pwfile"
  ((EUID == 0)) && chown postgres "$work/pwfile"
  as_postgres "$pg_bin/initdb" -D "$work/pg" -U temporal --pwfile="$work/pwfile" --auth=scram-sha-256 >/dev/null
  as_postgres "$pg_ctl_bin" -D "$work/pg" -l "$work/pg.log" -w \
    -o "-c listen_addresses=127.0.0.1 -c port=$pg_port -c unix_socket_directories=$work/pgsock" start >/dev/null
  export PGHOST=127.0.0.1 PGPORT=$pg_port
  # temporal-schema's script, run with the temporal-sql-tool and schema of the image's version from
  # billflow's cached server build (npm run temporal-server) in place of the admin-tools image's.
  server_build="${BILLFLOW_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/billflow}/temporal-server/v$(compose_value temporal "s.image.split(':')[1]")"
  if [[ -x "$server_build/temporal-server" && -x "$server_build/temporal-sql-tool" ]]; then
    mkdir -p "$work/sqlbin" && ln -sf "$server_build/temporal-sql-tool" "$work/sqlbin/temporal-sql-tool"
    schema_script=$(compose_value temporal-schema 's.command[0]' | sed "s#/etc/temporal/schema#$server_build/schema#g")
    for run in first second; do
      if PATH="$work/sqlbin:$PATH" SQL_PLUGIN=postgres12 SQL_HOST=127.0.0.1 SQL_PORT=$pg_port SQL_USER=temporal SQL_PASSWORD=check-postgres \
        sh -euc "$schema_script" >"$work/schema.log" 2>&1; then
        pass "temporal-schema script, ${run} run, with temporal-sql-tool from ${server_build}: $(tail -n 1 "$work/schema.log")"
      else
        fail "temporal-schema script, ${run} run: $(tail -n 5 "$work/schema.log")"
      fi
    done
  else
    server_build=''
    skip "temporal-schema script: no cached Temporal server build (npm run temporal-server); the databases are made with psql"
    PGUSER=temporal PGPASSWORD=check-postgres psql -qX -d postgres -c 'CREATE DATABASE temporal' -c 'CREATE DATABASE temporal_visibility'
  fi
  billflow_sql=$(compose_value billflow-db 's.command[0]')
  for run in first second; do
    if PGUSER=temporal PGPASSWORD=check-postgres PGDATABASE=postgres BILLFLOW_DB_PASSWORD=check-billflow \
      sh -euc "$billflow_sql" >"$work/billflow-db.log" 2>&1; then
      pass "billflow-db script, ${run} run"
    else
      fail "billflow-db script, ${run} run: $(cat "$work/billflow-db.log")"
    fi
  done
  if PGUSER=billflow PGPASSWORD=check-billflow psql -qXtA -d billflow \
    -c 'CREATE TABLE check_table (id int)' -c 'DROP TABLE check_table' >/dev/null 2>&1; then
    pass "role billflow creates tables in database billflow"
  else
    fail "role billflow cannot create tables in database billflow"
  fi
  for db in temporal temporal_visibility; do
    if out=$(PGUSER=billflow PGPASSWORD=check-billflow psql -qXtA -d "$db" -c 'SELECT 1' 2>&1); then
      fail "role billflow can connect to $db"
    elif grep -q 'permission denied for database' <<<"$out"; then
      pass "role billflow may not connect to $db"
    else
      fail "role billflow cannot connect to $db, for another reason: $out"
    fi
  done
  if PGUSER=billflow PGPASSWORD=check-billflow psql -qXtA -d billflow -c 'SELECT rolsuper OR rolcreatedb OR rolcreaterole FROM pg_roles WHERE rolname = current_user' | grep -qx f; then
    pass "role billflow has no superuser, createdb or createrole rights"
  else
    fail "role billflow has more rights than it needs"
  fi
fi

echo "==> The image's files: the build stage's output, production dependencies only"
# The build stage as the Dockerfile runs it: its COPY sources, `npm run build` (tsc and the workflow
# bundle) with the repository's dependencies, then its `rm -rf` of the development stand-ins.
build="$work/build"
mkdir -p "$build"
build_sources=$(sed -n '/^FROM .* AS build$/,/^FROM /s/^COPY \([^-].*\) [^ ]*$/\1/p' Dockerfile | tr ' ' '\n')
for source in $build_sources; do mkdir -p "$build/$(dirname "$source")" && cp -R "$source" "$build/$source"; done
echo "  copied to the build stage: $(tr '\n' ' ' <<<"$build_sources")"
not_in_image=$(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' Dockerfile | sed -n 's/^RUN rm -rf //p')
# Word splitting and globbing of the list are meant, as in the Dockerfile's shell.
# shellcheck disable=SC2086
if (cd "$build" && ln -s "$repo/node_modules" node_modules && npm run build >"$work/build.log" 2>&1 && rm -rf $not_in_image); then
  pass "npm run build, stand-ins removed ($(find "$build/dist" -name '*.js' | wc -l) JavaScript files, $(du -k "$build/dist/workflow-bundle.js" | cut -f1) KiB workflow bundle)"
else
  fail "npm run build: $(tail -n 20 "$work/build.log")"
fi
app="$work/app"
mkdir -p "$app"
image_sources=$(sed -n '/^FROM \${NODE_IMAGE}$/,$s/^COPY \([^-].*\) [^ ]*$/\1/p' Dockerfile | tr ' ' '\n')
for source in $image_sources; do cp -R "$source" "$app/"; done
cp -R "$build/dist" "$app/dist"
echo "  copied to the image: $(tr '\n' ' ' <<<"$image_sources") dist (from the build stage)"
if (cd "$app" && npm ci --omit=dev --no-audit --no-fund >"$work/npm.log" 2>&1); then
  pass "npm ci --omit=dev ($(find "$app/node_modules" -mindepth 1 -maxdepth 1 | wc -l) top-level entries)"
else
  fail "npm ci --omit=dev: $(tail -n 20 "$work/npm.log")"
fi
[[ ! -e "$app/node_modules/tsx" ]] && pass "no tsx in the image" || fail "tsx is installed in the image"
for command in dev trigger; do
  if output=$(cd "$app" && node dist/src/cli/main.js "$command" 2>&1); then
    fail "billflow $command ran in the image's files"
  else
    grep -q 'is a development command' <<<"$output" && pass "billflow $command refuses: ${output:0:80}…" || fail "billflow $command: $output"
  fi
done

echo "==> temporal, temporal-namespace, worker and receiver: the real Temporal server if its build is cached, else a dev server"
temporal_cli=$(npm run --silent temporal-cli </dev/null 2>"$work/temporal-cli.log" | tail -n 1 || true)
if [[ ! -x "$temporal_cli" ]]; then
  fail "no Temporal CLI (npm run temporal-cli): $(tail -n 5 "$work/temporal-cli.log")"
elif [[ -z "$pg_port" ]]; then
  skip "needs PostgreSQL (above)"
else
  temporal_port=$(free_port)
  if [[ -n "$server_build" ]]; then
    # As the temporalio/server image starts it: `temporal-server start` with no config file, so the
    # server renders its embedded config template from the temporal service's environment; only the
    # addresses, the password and the dynamic config's path (the file compose mounts) are this machine's.
    # Membership ports live in a smallint column: below 32768.
    low_port() { node -e "const n=require('net');const t=()=>{const p=20000+Math.floor(Math.random()*12000);const s=n.createServer().once('error',t).listen(p,'127.0.0.1',()=>{console.log(p);s.close()})};t()"; }
    mapfile -t server_env < <(node -e "
      const {parse}=require('yaml');const c=parse(require('fs').readFileSync('docker-compose.yml','utf8')).services.temporal;
      const mine={DB_PORT:'$pg_port',POSTGRES_SEEDS:'127.0.0.1',POSTGRES_PWD:'check-postgres',BIND_ON_IP:'127.0.0.1'};
      const mount=c.volumes.map((v)=>v.split(':')).find(([,target])=>target===c.environment.DYNAMIC_CONFIG_FILE_PATH);
      for (const [k,v] of Object.entries(c.environment)) console.log(k+'='+(mine[k]??(k==='DYNAMIC_CONFIG_FILE_PATH'?require('path').resolve(mount[0]):v)));")
    server_ports=(FRONTEND_GRPC_PORT="$temporal_port" FRONTEND_HTTP_PORT="$(free_port)" INTERNAL_FRONTEND_GRPC_PORT="$(free_port)"
      INTERNAL_FRONTEND_HTTP_PORT="$(free_port)" MATCHING_GRPC_PORT="$(free_port)" HISTORY_GRPC_PORT="$(free_port)" WORKER_GRPC_PORT="$(free_port)"
      FRONTEND_MEMBERSHIP_PORT="$(low_port)" INTERNAL_FRONTEND_MEMBERSHIP_PORT="$(low_port)" MATCHING_MEMBERSHIP_PORT="$(low_port)"
      HISTORY_MEMBERSHIP_PORT="$(low_port)" WORKER_MEMBERSHIP_PORT="$(low_port)")
    (cd "$work" && exec env -i PATH="$PATH" HOME="$work" "${server_env[@]}" "${server_ports[@]}" "$server_build/temporal-server" start) >"$work/temporal.log" 2>&1 &
    pids+=($!)
    if wait_for "the Temporal server" 180 "$temporal_cli" operator cluster health --address "127.0.0.1:$temporal_port"; then
      pass "temporal: the server build of the image's version, started as the image starts it (embedded config template, the service's environment, compose/temporal-dynamicconfig.yaml)"
    else
      fail "temporal did not start: $(tail -n 5 "$work/temporal.log")"
    fi
  else
    skip "temporal: no cached Temporal server build (npm run temporal-server); a dev server stands in"
    "$temporal_cli" server start-dev --headless --ip 127.0.0.1 --port "$temporal_port" --log-level error >"$work/temporal.log" 2>&1 &
    pids+=($!)
    wait_for "the Temporal dev server" 60 "$temporal_cli" operator cluster health --address "127.0.0.1:$temporal_port"
  fi
  namespace=billflow-compose-check
  namespace_script=$(compose_value temporal-namespace 's.command[0]')
  mkdir -p "$work/bin" && ln -sf "$temporal_cli" "$work/bin/temporal"
  for run in first second; do
    if PATH="$work/bin:$PATH" TEMPORAL_ADDRESS="127.0.0.1:$temporal_port" NAMESPACE=$namespace RETENTION=30d \
      sh -euc "$namespace_script" >"$work/namespace.log" 2>&1; then
      pass "temporal-namespace script, ${run} run: $(tail -n 1 "$work/namespace.log")"
    else
      fail "temporal-namespace script, ${run} run: $(cat "$work/namespace.log")"
    fi
  done

  # The containers' environment, with loopback addresses instead of the Compose service names, and
  # every optional variable as Compose passes it when unset: empty.
  mapfile -t unset_env < <(node -e "
    const {parse}=require('yaml');const s=parse(require('fs').readFileSync('docker-compose.yml','utf8')).services;
    for (const [k,v] of Object.entries({...s.worker.environment,...s.receiver.environment})) if (/^\\$\\{[A-Z0-9_]+:-\\}$/.test(v)) console.log(k+'=');")
  billflow_env=(NODE_ENV=production "${unset_env[@]}" TEMPORAL_ADDRESS="127.0.0.1:$temporal_port" TEMPORAL_NAMESPACE="$namespace"
    TEMPORAL_TASK_QUEUE=billflow LOG_LEVEL=info)
  worker_healthcheck=$(compose_value worker 's.healthcheck.test[3]')
  receiver_healthcheck=$(compose_value receiver 's.healthcheck.test[3]')
  receiver_port=$(free_port)

  (cd "$app" && exec env "${billflow_env[@]}" DATABASE_URL="postgres://billflow:check-billflow@127.0.0.1:$pg_port/billflow" \
    GOCARDLESS_ACCESS_TOKEN=check-token GOCARDLESS_API_URL=http://127.0.0.1:9/ node dist/src/cli/main.js worker) >"$work/worker.log" 2>&1 &
  pids+=($!)
  if (cd "$app" && wait_for "the worker healthcheck" 180 env "${billflow_env[@]}" node -e "$worker_healthcheck"); then
    pass "worker is healthy (its healthcheck from docker-compose.yml, run in the image's file tree)"
    attributes=$("$temporal_cli" operator search-attribute list --address "127.0.0.1:$temporal_port" --namespace "$namespace" 2>&1 || true)
    for attribute in BillingProvider BillingCustomer BillingStatus; do
      grep -q "$attribute" <<<"$attributes" && pass "worker registered $attribute" || fail "search attribute $attribute is missing"
    done
    PGUSER=billflow PGPASSWORD=check-billflow psql -qXtA -d billflow -c 'SELECT count(*) FROM schema_migrations' >/dev/null 2>&1 &&
      pass "worker migrated database billflow as role billflow" || fail "no schema_migrations table in database billflow"
  else
    fail "worker never became healthy: $(tail -n 20 "$work/worker.log")"
  fi

  (cd "$app" && exec env "${billflow_env[@]}" PORT="$receiver_port" HOST=127.0.0.1 GOCARDLESS_WEBHOOK_SECRET=check-webhook-secret \
    node dist/src/cli/main.js receiver) >"$work/receiver.log" 2>&1 &
  pids+=($!)
  if (cd "$app" && wait_for "the receiver healthcheck" 60 env PORT="$receiver_port" node -e "$receiver_healthcheck"); then
    pass "receiver is healthy (its healthcheck from docker-compose.yml, run in the image's file tree)"
    ready=$(node -e "require('http').get('http://127.0.0.1:$receiver_port/readyz',(r)=>console.log(r.statusCode)).on('error',()=>console.log('no answer'))")
    [[ "$ready" == 200 ]] && pass "receiver /readyz answers 200" || fail "receiver /readyz answers $ready"
  else
    fail "receiver never became healthy: $(tail -n 20 "$work/receiver.log")"
  fi
fi

echo
if ((failures == 0)); then echo "All checks passed."; else echo "${failures} check(s) failed."; fi
exit $((failures > 0))
