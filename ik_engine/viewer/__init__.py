"""The interactive browser viewer (``ik-engine view``, ``ik.view``), on viser (the ``viewer`` extra).

Modules: ``targets`` (what each gizmo asks), ``posing`` (the pose and its warm-started solves),
``report`` (the solver text), ``limit_region`` (what a joint's limits allow), ``skinning`` (fast repeated skinning), ``sources`` (opening bodies
and clips), ``scene`` (the 3D scene), ``panel`` (the GUI), ``clip_player`` (playback), ``app``
(the Viewer that wires them, and ``view``) and ``command`` (the CLI). Only ``scene``, ``panel``
and ``app`` touch viser, and ``app`` imports it when a Viewer starts.
"""
