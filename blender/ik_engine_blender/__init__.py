"""IK Engine for Blender: pose any armature with ik-engine's limit-aware inverse kinematics.

The 3D view's sidebar (N) gets an "IK Engine" tab: constraints from scene objects (Reach, Look At,
Pole, Pin, Floor) with weights and priorities, Solve for the current frame, Live re-solving as
targets move, and Bake of a frame range to keyframes; plus an SMPL-X armature with a CC0 body.

The engine (the ``ik_engine`` package, with jax) is imported only when something is solved, so
the add-on registers and explains what is missing without it (Preferences > Install Dependencies).
One concept per module: dependencies, preferences, properties, armature_skeleton (bones <-> engine
skeleton and poses), scene_constraints (scene objects -> engine constraints), solving, operators,
live_mode, smplx_armature, panel.
"""

from __future__ import annotations

import bpy

from . import dependencies, live_mode, operators, panel, preferences, properties, solving

_CLASSES = preferences.CLASSES + operators.CLASSES + panel.CLASSES


def register() -> None:
    dependencies.add_site_packages_to_path()
    properties.register()
    for cls in _CLASSES:
        bpy.utils.register_class(cls)
    live_mode.register()


def unregister() -> None:
    live_mode.unregister()
    for cls in reversed(_CLASSES):
        bpy.utils.unregister_class(cls)
    properties.unregister()
    solving.forget_solvers()
    dependencies.remove_site_packages_from_path()
