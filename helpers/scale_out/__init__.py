"""Lesson 09's process entry points: the launcher and the two kinds of worker process it starts.

`python -m helpers.scale_out.launcher` (`make scale-out`) starts `jax_worker` processes (JAX joined
by `jax.distributed.initialize`); lesson 09 also starts `tf_worker` processes (TensorFlow's
`MultiWorkerMirroredStrategy`). Each file is a module a fresh Python runs with `-m`.
"""
