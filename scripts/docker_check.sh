#!/usr/bin/env bash
# Builds the project's Docker image and checks it end to end on this machine (issue 24):
#   bash scripts/docker_check.sh
# 1. a Docker engine: the running one, else Debian's docker.io, installed (apt-get) when missing and started
#    for this run only (host networking, no bridge or iptables rules); it is stopped again on exit;
# 2. the base image: the Dockerfile's default (python:3.11-slim-bookworm) when it can be pulled, else the
#    stand-in made from Debian's packages by scripts/docker/make_base.sh (made once, then reused);
# 3. docker build with that base as the BASE_IMAGE build argument (Docker's build cache makes a re-run quick);
# 4. a container on a fresh data volume, host networking, a free port of 127.0.0.1; waits for the page;
# 5. scores assets/examples/composite/aloe-pot.jpg with piqe through gradio_client (the app's /score);
# 6. makes a small pairwise campaign (`python -m backend campaign create` in the container) and votes through
#    the plain JSON API (GET /annotate/v1/campaigns/{name}/next_pair, POST /annotate/v1/vote, a resent vote is
#    a duplicate, the pair's images are served); the files on /data belong to the app's user (uid 1000);
# 7. waits for the HEALTHCHECK to report healthy, replaces the container by a new one on the same volume and
#    checks that the campaign and its votes are still there;
# 8. prints the image size, the build time and the time to the first page; exit 0 only if every step passed.
# Environment: HARMONYLAB_DOCKER_TAG (image, default harmonylab), HARMONYLAB_DOCKER_BASE (build argument,
# default the Dockerfile's), HARMONYLAB_DOCKER_PAGE_TIMEOUT (s, default 300), DOCKER (client, default docker).
set -euo pipefail
cd "$(dirname "$0")/.."

tag="${HARMONYLAB_DOCKER_TAG:-harmonylab}"
default_base="$(sed -n 's/^ARG BASE_IMAGE=//p' Dockerfile | head -n 1)"
base="${HARMONYLAB_DOCKER_BASE:-$default_base}"
standin="harmonylab-base:bookworm-python3.11"
container="harmonylab-check"
volume="harmonylab-check-data"
page_timeout="${HARMONYLAB_DOCKER_PAGE_TIMEOUT:-300}"
DOCKER="${DOCKER:-docker}"
campaign="dockercheck"

log() { echo "[docker-check] $*"; }
fail() { echo "[docker-check] FAILED: $*" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

work="$(mktemp -d)"
dockerd_pid=""
container_made=0
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ "$container_made" = 1 ]; then
    "$DOCKER" rm -f "$container" >/dev/null 2>&1 || true
    "$DOCKER" volume rm -f "$volume" >/dev/null 2>&1 || true
  fi
  if [ -n "$dockerd_pid" ]; then
    log "stopping the Docker engine this run started (pid $dockerd_pid)"
    as_root kill -TERM "$dockerd_pid" 2>/dev/null || true
    for _ in $(seq 60); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.5; done
  fi
  rm -rf "$work"
  [ "$rc" = 0 ] || echo "[docker-check] exit code $rc" >&2
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Small HTTP helper on the host (standard library only): wait for the page, call the JSON API.
cat >"$work/check_http.py" <<'PY'
import json, sys, urllib.error, urllib.parse, urllib.request

def call(method, url, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read()

if sys.argv[1] == "page":  # exit 0 when the app's page is served
    try:
        status, kind, content = call("GET", sys.argv[2])
    except OSError:
        sys.exit(1)
    sys.exit(0 if status == 200 and b"gradio" in content.lower() else 1)

if sys.argv[1] == "votes":  # vote through /annotate/v1 as two annotators, then resend one vote
    api, campaign = sys.argv[2].rstrip("/") + "/annotate/v1", sys.argv[3]
    def get(path):
        status, _, content = call("GET", api + path)
        assert status == 200, f"GET {path}: {status} {content[:300]!r}"
        return json.loads(content)
    names = [item["name"] for item in get("/campaigns")["campaigns"]]
    assert campaign in names, f"campaign {campaign} not among the open campaigns {names}"
    votes = []
    for label, choice in (("a", "left"), ("b", "right")):
        status, _, content = call("POST", api + "/annotators", {})  # ids are issued by the server
        assert status == 201, f"POST /annotators: {status} {content[:300]!r}"
        annotator = json.loads(content)["annotator_id"]
        pair = get(f"/campaigns/{campaign}/next_pair?annotator_id={urllib.parse.quote(annotator)}")
        body = {"campaign": campaign, "annotator_id": annotator, "pair_id": pair["pair_id"], "choice": choice,
                "client_vote_id": f"docker-check-{label}-1"}
        status, _, content = call("POST", api + "/vote", body)
        ack = json.loads(content)
        assert status == 200 and ack.get("status") == "stored", f"POST /vote: {status} {ack}"
        votes.append((body, ack, pair))
    status, _, content = call("POST", api + "/vote", votes[0][0])  # a client retrying: stored once
    ack = json.loads(content)
    assert status == 200 and ack.get("status") == "duplicate" and ack.get("id") == votes[0][1]["id"], ack
    origin = sys.argv[2].rstrip("/")
    for key in ("left_image", "right_image"):
        status, kind, content = call("GET", origin + votes[0][2][key])
        assert status == 200 and kind == "image/png" and content[:8] == b"\x89PNG\r\n\x1a\n", (key, status, kind)
    status, _, content = call("POST", api + "/vote", {"campaign": campaign, "annotator_id": votes[0][0]["annotator_id"],
                                                   "pair_id": votes[0][0]["pair_id"], "choice": "sideways"})
    assert status == 400 and "error" in json.loads(content), (status, content[:300])
    print(json.dumps({"stored": [ack["id"] for _, ack, _ in votes], "image": votes[0][2]["left_image"]}))

if sys.argv[1] == "after-restart":  # the campaign is open and its image still served
    api, campaign, image = sys.argv[2].rstrip("/") + "/annotate/v1", sys.argv[3], sys.argv[4]
    status, _, content = call("GET", api + "/campaigns")
    names = [item["name"] for item in json.loads(content)["campaigns"]]
    assert status == 200 and campaign in names, f"campaign {campaign} lost: {names}"
    status, kind, content = call("GET", sys.argv[2].rstrip("/") + image)
    assert status == 200 and content[:8] == b"\x89PNG\r\n\x1a\n", f"stored image {image}: {status}"
PY

# ------------------------------------------------------------------------------------------------ engine
command -v python3 >/dev/null || fail "python3 is needed on the host for the HTTP checks."
if ! "$DOCKER" info >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || command -v sudo >/dev/null || fail "no Docker engine answers and this user cannot start one; run as root."
  if ! command -v dockerd >/dev/null 2>&1; then
    log "installing Debian's docker.io (no Docker engine here)"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends docker.io >"$work/apt.log" 2>&1 \
      || { tail -n 20 "$work/apt.log" >&2; fail "apt-get install docker.io failed"; }
  fi
  command -v "$DOCKER" >/dev/null 2>&1 || DOCKER=/usr/bin/docker
  for driver in "" vfs; do  # the default storage driver (overlay2), else vfs where overlay mounts are refused
    log "starting dockerd for this run${driver:+ (storage driver $driver)}"
    flags=(${driver:+--storage-driver=$driver} --iptables=false --ip6tables=false --bridge=none)
    if [ "$(id -u)" = 0 ]; then dockerd "${flags[@]}" >"$work/dockerd.log" 2>&1 &
    else sudo dockerd "${flags[@]}" >"$work/dockerd.log" 2>&1 &
    fi
    dockerd_pid=$!  # dockerd itself (or sudo, which passes the signal on), never a subshell
    for _ in $(seq 120); do
      "$DOCKER" info >/dev/null 2>&1 && break
      kill -0 "$dockerd_pid" 2>/dev/null || break
      sleep 0.5
    done
    "$DOCKER" info >/dev/null 2>&1 && break
    as_root kill -TERM "$dockerd_pid" 2>/dev/null || true
    wait "$dockerd_pid" 2>/dev/null || true
    dockerd_pid=""
  done
  "$DOCKER" info >/dev/null 2>&1 || { tail -n 20 "$work/dockerd.log" >&2; fail "dockerd did not start (its log is above)"; }
fi
log "engine: Docker $("$DOCKER" version --format '{{.Server.Version}}'), storage driver $("$DOCKER" info --format '{{.Driver}}')"
image_exists() { "$DOCKER" image inspect "$1" >/dev/null 2>&1; }

# -------------------------------------------------------------------------------------------- base image
base_note="pulled or present"
if ! image_exists "$base"; then
  log "pulling $base"
  if timeout 900 "$DOCKER" pull "$base" >"$work/pull.log" 2>&1; then
    base_note="pulled"
  elif [ "$base" = "$default_base" ]; then
    log "cannot pull $base ($(tail -n 1 "$work/pull.log" | cut -c1-160))"
    if image_exists "$standin"; then
      log "reusing the stand-in base $standin"
      base_note="stand-in, reused"
    else
      command -v debootstrap >/dev/null 2>&1 || {
        log "installing Debian's debootstrap"
        DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends debootstrap >"$work/apt.log" 2>&1 \
          || { as_root apt-get update -qq && DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends debootstrap >"$work/apt.log" 2>&1; } \
          || { tail -n 20 "$work/apt.log" >&2; fail "apt-get install debootstrap failed"; }
      }
      t0="$(now)"
      DOCKER="$DOCKER" as_root bash scripts/docker/make_base.sh "$standin" || fail "making the stand-in base image failed"
      base_note="stand-in, made in $(since "$t0") s"
    fi
    base="$standin"
  else
    tail -n 5 "$work/pull.log" >&2
    fail "cannot pull the base image $base"
  fi
fi
mb() { "$DOCKER" image inspect -f '{{.Size}}' "$1" | awk '{printf "%.0f", $1 / 1e6}'; }
log "base image: $base ($(mb "$base") MB, $base_note)"

# ------------------------------------------------------------------------------------------------- build
log "docker build -t $tag --build-arg BASE_IMAGE=$base (the first build downloads about 3.5 GB from PyPI)"
t0="$(now)"
set +e
"$DOCKER" build --network host --build-arg BASE_IMAGE="$base" -t "$tag" . 2>&1 | tee "$work/build.log" \
  | grep --line-buffered -E '^Step [0-9]+/|^#[0-9]+ \[|^runtime ok'
build_rc=${PIPESTATUS[0]}
set -e
build_secs="$(since "$t0")"
if [ "$build_rc" != 0 ]; then
  tail -n 60 "$work/build.log" >&2
  fail "docker build failed after $build_secs s (its last lines are above)"
fi
# Was the heavy layer (the Python environment, pip install) taken from Docker's build cache?
# (classic builder: " ---> Using cache" after its step; BuildKit: "#N CACHED" for its step number)
venv_layer="$(awk '
  /^Step [0-9]+\/[0-9]+ : RUN .*pip install/ { step = 1; next }
  step == 1 && /---> Using cache/ { print "taken from the cache"; exit }
  step == 1 && /---> Running in/ { print "rebuilt"; exit }
  /^#[0-9]+ \[.*\] RUN .*pip install/ { id = $1 }
  id != "" && $1 == id && / CACHED/ { print "taken from the cache"; exit }
  id != "" && $1 == id && / DONE / { print "rebuilt"; exit }' "$work/build.log")"
image_mb="$(mb "$tag")"
base_mb="$(mb "$base")"
log "built $tag in $build_secs s (Python environment layer ${venv_layer:-unknown}): $image_mb MB ($base_mb MB of it the base)"

# --------------------------------------------------------------------------------------------------- run
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
url="http://127.0.0.1:$port/"
"$DOCKER" rm -f "$container" >/dev/null 2>&1 || true    # left over by an interrupted run
"$DOCKER" volume rm -f "$volume" >/dev/null 2>&1 || true
container_made=1
"$DOCKER" volume create "$volume" >/dev/null

start_container() {  # prints the seconds from docker run to the first page
  local t0 deadline
  t0="$(now)"
  "$DOCKER" run -d --name "$container" --network host -v "$volume:/data" \
    -e GRADIO_SERVER_NAME=127.0.0.1 -e GRADIO_SERVER_PORT="$port" -e HF_HUB_OFFLINE=1 "$tag" >/dev/null \
    || fail "docker run failed"
  deadline=$(( $(date +%s) + page_timeout ))
  until python3 "$work/check_http.py" page "$url"; do
    if [ "$("$DOCKER" inspect -f '{{.State.Running}}' "$container")" != true ]; then
      "$DOCKER" logs --tail 40 "$container" >&2
      fail "the container stopped before serving the page (its last lines are above)"
    fi
    [ "$(date +%s)" -lt "$deadline" ] || { "$DOCKER" logs --tail 40 "$container" >&2; fail "no page at $url within $page_timeout s"; }
    sleep 0.25
  done
  since "$t0"
}
in_container() { timeout 600 "$DOCKER" exec "$container" "$@" </dev/null; }
in_container_stdin() { timeout 600 "$DOCKER" exec -i "$container" "$@"; }

log "docker run on port $port with the volume $volume"
first_page="$(start_container)"
log "first page after $first_page s"

uid="$(in_container sh -c 'stat -c %u /proc/1')"
[ "$uid" = 1000 ] || fail "the app runs as uid $uid, not 1000"

# ----------------------------------------------------------------------------------- /score (gradio_client)
score="$(in_container_stdin env PORT="$port" python - <<'PY'
import math, os
from gradio_client import Client, handle_file

client = Client(f"http://127.0.0.1:{os.environ['PORT']}/", verbose=False)
table, status, csv_path, chart = client.predict([handle_file("/app/assets/examples/composite/aloe-pot.jpg")], None,
                                                None, ["piqe"], api_name="/score")
row = dict(zip(table["headers"], table["data"][0], strict=True))
score = float(row["piqe"])
assert row["image"] == "aloe-pot.jpg" and math.isfinite(score) and 0 <= score <= 100, row
print(f"{score:.3f}")
PY
)" || fail "scoring through gradio_client (/score) failed"
log "gradio_client /score: piqe of assets/examples/composite/aloe-pot.jpg = $score"

# ----------------------------------------------------------------------------- campaign and the JSON API
in_container sh -c 'set -e; d=/tmp/dockercheck; mkdir -p $d; cd /app/assets/examples
  for name in lake flowers; do cp composite/$name.jpg $d/$name-composite.jpg; cp real/$name.jpg $d/$name-real.jpg; done
  printf "path,group,method\n" >$d/manifest.csv
  for name in lake flowers; do printf "%s-composite.jpg,%s,composite\n%s-real.jpg,%s,real\n" $name $name $name $name >>$d/manifest.csv; done' \
  || fail "writing the campaign manifest in the container failed"
in_container python -m backend campaign create --name "$campaign" --kind pairwise --manifest /tmp/dockercheck/manifest.csv \
  >"$work/create.json" 2>"$work/create.err" || { cat "$work/create.err" >&2; fail "python -m backend campaign create failed"; }
votes="$(python3 "$work/check_http.py" votes "$url" "$campaign")" || fail "voting through /annotate/v1 failed"
log "JSON API: campaign '$campaign' listed, 2 votes stored, a resent vote kept once, images served, bad input refused: $votes"
stored_image="$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["image"])' "$votes")"

answers() {
  in_container python -m backend campaign stats --name "$campaign" 2>/dev/null \
    | python3 -c 'import json, sys; s = json.load(sys.stdin); print(s["answers"], s["annotators"], s["items"])'
}
before="$(answers)" || fail "python -m backend campaign stats failed"
[ "$before" = "2 2 4" ] || fail "campaign stats give answers/annotators/items '$before', expected '2 2 4'"
foreign="$(in_container find /data ! -user 1000 -print -quit)"
[ -z "$foreign" ] || fail "$foreign on /data does not belong to the app's user (uid 1000)"
log "campaign stats: 2 answers from 2 annotators on 4 items; every file on /data belongs to uid 1000"

# ------------------------------------------------------------------------------------ health and restart
health=""
for _ in $(seq 120); do  # the first probe runs 30 s after the start (--interval)
  health="$("$DOCKER" inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{end}}' "$container")"
  [ "$health" = starting ] || break
  sleep 1
done
[ "$health" = healthy ] || fail "the HEALTHCHECK reports '$health', not healthy"
log "HEALTHCHECK: healthy"

t0="$(now)"
"$DOCKER" stop "$container" >/dev/null || fail "docker stop failed"
stop_secs="$(since "$t0")"
exit_code="$("$DOCKER" inspect -f '{{.State.ExitCode}}' "$container")"
"$DOCKER" rm "$container" >/dev/null
log "docker stop took $stop_secs s (exit code $exit_code); a new container on the same volume:"
second_page="$(start_container)"
log "first page after $second_page s"
after="$(answers)" || fail "python -m backend campaign stats failed after the restart"
[ "$after" = "$before" ] || fail "after the restart the campaign has '$after' (answers annotators items), before '$before'"
python3 "$work/check_http.py" after-restart "$url" "$campaign" "$stored_image" || fail "the campaign or its images did not survive the restart"
log "after the restart: campaign '$campaign' open with its 2 votes and its images (the data is on the volume)"

echo
log "image $tag: $image_mb MB (base $base: $base_mb MB)"
log "build: $build_secs s (Python environment layer ${venv_layer:-unknown}; base $base_note)"
log "first page: $first_page s after docker run ($second_page s for the new container on the same volume)"
log "all checks passed"
