"""Where the solver's programs run: the backend interface (``backend``: check and load by name),
the numpy interpreter (``numpy_backend``), JAX (``jax_backend``, with its persistent compile
cache, ``compile_cache``, and its CPU runtime started for small programs,
``jax_cpu_runtime``) and TensorFlow (``tensorflow_backend``, over the numpy-like
``tensorflow_namespace`` and its ``tensorflow_array`` type; ``tensorflow_import`` imports
TensorFlow quietly). Nothing here is imported with ``ik_engine``: each backend loads its
library on first use."""
