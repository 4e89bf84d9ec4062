#!/usr/bin/env bash
# The GPU measurements of the README's Performance and Results sections, in one command, for a
# machine with one CUDA GPU whose Python already has torch, torchvision, tensorboard and pytest
# (such as a bare H100/H200 image with no network).
#
# Prepare on a machine with pip and the data (both folders are git-ignored):
#   pip wheel --no-deps -w .whl hydra-core==1.3.8 omegaconf==2.3.1 antlr4-python3-runtime==4.9.3 \
#       hydra-joblib-launcher==1.2.0
#   mkdir -p data/MNIST/raw && for f in "$AELAB_DATA_DIR"/MNIST/raw/*-ubyte; do
#       gzip -c "$f" > "data/MNIST/raw/$(basename "$f").gz"; done       # 55 MB -> 11 MB
# Copy the repository with .whl/ and data/ to the GPU machine, then there:
#   bash scripts/gpu_checks.sh [tests] [bench] [sweep] [mlp] [conv]     # default: tests bench sweep
# Each part's log goes to $OUT (or ./gpu_checks); none has run on a GPU yet, so no durations here.
# mlp / conv: one full hinton2006 / hinton2006_conv training with cuda_graphs, its wall time in
# the run's metrics.json (the "under 10 minutes on one GPU" targets). The default parts write 7
# files; give `mlp conv` a call of their own where only a few files come back.
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-gpu_checks}"
mkdir -p "$out"
parts=("$@")
[ ${#parts[@]} -eq 0 ] && parts=(tests bench sweep)
for part in "${parts[@]}"; do  # refuse a typo before any part spends device time
    case "$part" in tests|bench|sweep|mlp|conv) ;; *) echo "unknown part: $part (tests bench sweep mlp conv)"; exit 2 ;; esac
done

if ! python3 -c "import hydra, omegaconf" 2>/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/aelab_site .whl/*.whl \
        || { echo "install the wheels in .whl/ first (see the header)"; exit 1; }
    export PYTHONPATH="/tmp/aelab_site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 AELAB_OFFLINE=1 MPLBACKEND=Agg
if [ -z "${AELAB_DATA_DIR:-}" ]; then
    for name in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
        f="data/MNIST/raw/$name"
        [ -e "$f" ] || gunzip -k "$f.gz" || { echo "MNIST missing: $f(.gz) (see the header)"; exit 1; }
    done
    export AELAB_DATA_DIR="$PWD/data"
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/gpu.txt"
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())" | tee -a "$out/gpu.txt"
python3 -c "import sys, torch; sys.exit(not torch.cuda.is_available())" || { echo "no CUDA device"; exit 1; }

status=0
for part in "${parts[@]}"; do
    echo "=== $part ($(date +%T))"
    case "$part" in
        tests) python3 -m pytest -q -p no:cacheprovider tests/test_fastpaths.py tests/test_backprop_function.py \
                   tests/test_backprop_vs_autograd.py 2>&1 | tee "$out/tests.log" ;;
        bench) { python3 scripts/bench_backprop.py --device cuda --json "$out/bench_backprop.json" &&
                 python3 scripts/bench_train.py --device cuda --repeats 3 --extra trainer.cuda_graphs=true \
                     --time-to-target --json "$out/bench_train.json"; } 2>&1 | tee "$out/bench.log" ;;
        sweep) python3 scripts/bench_sweep.py --device cuda --jobs 4 --rounds 2 --json "$out/bench_sweep.json" \
                   2>&1 | tee "$out/sweep.log" ;;
        mlp|conv)  # the run's metrics.json (test error, wall time) comes back with the log
            preset=hinton2006; [ "$part" = conv ] && preset=hinton2006_conv
            python3 scripts/train.py experiment=$preset device=cuda trainer.cuda_graphs=true \
                trainer.progress=false hydra.run.dir=outputs/runs/${preset}_gpu 2>&1 | tee "$out/$part.log"
            ;;
    esac
    rc=$?
    [[ "$part" == mlp || "$part" == conv ]] && cp "outputs/runs/${preset}_gpu/metrics.json" "$out/${part}_metrics.json"
    [ $rc -ne 0 ] && { echo "=== $part failed: exit $rc"; status=$rc; }
done
exit $status
