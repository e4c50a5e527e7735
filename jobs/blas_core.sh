# Sourced by jobs/run_local.sh and jobs/*.sbatch after they set $exe: the
# explicit opt-in to OpenBLAS kernels other than the ones it picks itself
# (on a CPU it does not recognise it falls back to Prescott, several times
# slower; `biaslab blas` says so). Never set by biaslab or its tests.
#   BIASLAB_BLAS_CORE unset   OpenBLAS chooses (OPENBLAS_CORETYPE, if set, decides)
#   BIASLAB_BLAS_CORE=auto    the kernels this CPU supports (`biaslab blas --best`)
#   BIASLAB_BLAS_CORE=NAME    that OpenBLAS core, e.g. SkylakeX
case ${BIASLAB_BLAS_CORE:-} in
  '') ;;
  auto)
    if core=$("$exe" blas --best) && [ "$core" != unknown ]; then
      export OPENBLAS_CORETYPE=$core
      echo "biaslab: BIASLAB_BLAS_CORE=auto: OPENBLAS_CORETYPE=$core (the kernels this CPU supports)"
    else
      echo "biaslab: BIASLAB_BLAS_CORE=auto: no OpenBLAS core known for this CPU; OpenBLAS chooses" >&2
    fi ;;
  *)
    export OPENBLAS_CORETYPE=$BIASLAB_BLAS_CORE
    echo "biaslab: BIASLAB_BLAS_CORE: OPENBLAS_CORETYPE=$BIASLAB_BLAS_CORE" ;;
esac
