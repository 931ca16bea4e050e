#!/usr/bin/env bash
# Serve a tf_crnn export with TF Serving's docker image: gRPC on 8500, REST on 8501.
#
#   scripts/serve_docker.sh MODEL_BASE_PATH [--model_name crnn] [--rest_port 8501] [--grpc_port 8500]
#                           [--image tensorflow/serving:2.15.1] [--gpu] [--dry_run]
#
# MODEL_BASE_PATH is a folder of numbered version folders, the layout every tf_crnn export
# writes: MODEL_DIR/export/best, MODEL_DIR/export/latest, or export_model.py's --output_dir.
# It is mounted read-only at /models/MODEL_NAME; TF Serving serves the highest version and
# picks up new ones as training exports them (it ignores the exporters' temp-* folders).
# The image is the TF Serving release that matches TensorFlow 2.15. --gpu serves with
# tensorflow/serving:2.15.1-gpu and `docker run --gpus all` (NVIDIA Container Toolkit).
# --dry_run prints the docker command instead of running it.
set -euo pipefail

fail() { echo "error: $*" >&2; exit 2; }

model_name=crnn
rest_port=8501
grpc_port=8500
image=tensorflow/serving:2.15.1
dry_run=0
gpu=0
base_path=""

while [ $# -gt 0 ]; do
  case "$1" in
    --model_name|--rest_port|--grpc_port|--image)
      [ $# -ge 2 ] || fail "$1 needs a value"
      case "$1" in
        --model_name) model_name=$2 ;;
        --rest_port) rest_port=$2 ;;
        --grpc_port) grpc_port=$2 ;;
        --image) image=$2 ;;
      esac
      shift 2 ;;
    --dry_run) dry_run=1; shift ;;
    --gpu) gpu=1; shift ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) fail "unknown option $1 (see --help)" ;;
    *) [ -z "$base_path" ] || fail "only one MODEL_BASE_PATH is taken, got '$base_path' and '$1'"
       base_path=$1; shift ;;
  esac
done

[ -n "$base_path" ] || fail "MODEL_BASE_PATH is required (e.g. runs/crnn/export/best; see --help)"
[ -d "$base_path" ] || fail "MODEL_BASE_PATH: no such folder: $base_path"
for port in "$rest_port" "$grpc_port"; do
  [[ "$port" =~ ^[0-9]+$ ]] && [ "$port" -ge 1 ] && [ "$port" -le 65535 ] || fail "not a port number: $port"
done
[[ "$model_name" =~ ^[A-Za-z0-9_.-]+$ ]] || fail "--model_name may hold letters, digits, '_', '.' and '-', got '$model_name'"

base_path=$(cd "$base_path" && pwd)
newest=""
for dir in "$base_path"/*/; do
  version=$(basename "$dir")
  if [[ "$version" =~ ^[0-9]+$ ]] && [ -f "$dir/saved_model.pb" ]; then
    if [ -z "$newest" ] || [ "$version" -gt "$newest" ]; then newest=$version; fi
  fi
done
[ -n "$newest" ] || fail "MODEL_BASE_PATH: $base_path holds no numbered version folder with a saved_model.pb (export with: python export_model.py MODEL_DIR --output_dir $base_path)"

gpu_flags=()
if [ "$gpu" = 1 ]; then
  gpu_flags=(--gpus all)
  [ "$image" != tensorflow/serving:2.15.1 ] || image=tensorflow/serving:2.15.1-gpu
fi
command=(docker run --rm --name "tf_crnn_${model_name}" ${gpu_flags[@]+"${gpu_flags[@]}"}
         -p "${grpc_port}:8500" -p "${rest_port}:8501"
         -v "${base_path}:/models/${model_name}:ro"
         -e "MODEL_NAME=${model_name}"
         "$image")

echo "serving version $newest of $base_path as '$model_name': gRPC localhost:$grpc_port, REST http://localhost:$rest_port/v1/models/$model_name:predict" >&2
if [ "$dry_run" = 1 ]; then
  printf '%q ' "${command[@]}"; echo
  exit 0
fi
command -v docker >/dev/null || fail "docker not found; install Docker or run TF Serving's tensorflow_model_server yourself (see docs/serving_and_cluster.md)"
exec "${command[@]}"
