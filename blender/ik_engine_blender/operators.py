"""The add-on's operators: solve, bake, constraints, the SMPL-X armature.

Every operator turns a problem the user can fix into a report (``self.report({'ERROR'}, ...)``)
and the panel's message, and writes to the scene only after everything it needs has been read
and solved, so a failed operator leaves the scene as it was. Solve and Bake push an undo step.
"""

import traceback

import bpy
import numpy as np
from bpy.props import BoolProperty, EnumProperty, IntProperty, StringProperty

from .dependencies import DependencyError
from .errors import AddonError
from .live_mode import set_message, start_live, suspended
from .properties import BONE_POINTS, CONSTRAINT_KINDS, KIND_LABELS, KINDS_WITH_TARGET
from .scene_constraints import AXIS_VECTORS
from .scene_lookup import active_armature, active_bone_name, posed_bone_world
from .solving import apply_solution, keyframe_solution, read_problem, solve_armature, solve_problem

# The "hand, foot and head targets" of a new SMPL-X armature: Reach on wrists and ankles, Look At
# on the head.
BODY_TARGETS = (
    ("REACH", "left_wrist"), ("REACH", "right_wrist"), ("REACH", "left_ankle"), ("REACH", "right_ankle"),
    ("LOOK_AT", "head"),
)


def armature_poll(cls, context) -> bool:
    if active_armature(context) is None:
        cls.poll_message_set("Select an armature (or a mesh it deforms) first")
        return False
    return True


def run_reported(operator, context, armature_object, work) -> set[str]:
    """Run ``work()``; report AddonError / DependencyError (and any bug) instead of raising."""
    try:
        return work()
    except (AddonError, DependencyError) as exc:
        message = str(exc)
    except Exception as exc:  # a bug: say so briefly, keep the details for the console
        traceback.print_exc()
        message = f"unexpected {type(exc).__name__}: {exc}"
    if armature_object is not None:
        set_message(armature_object.ik_engine, message, True)
    operator.report({"ERROR"}, message)
    return {"CANCELLED"}


class ArmatureOperator:
    """Mixin: an operator on the active armature (greyed out without one)."""

    @classmethod
    def poll(cls, context):
        return armature_poll(cls, context)


class IK_ENGINE_OT_solve(ArmatureOperator, bpy.types.Operator):
    """Solve the armature's IK Engine constraints at the current frame, starting from the current pose"""

    bl_idname = "ik_engine.solve"
    bl_label = "Solve Current Frame"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        obj = active_armature(context)

        def work():
            depsgraph = context.evaluated_depsgraph_get()
            solution = solve_armature(obj, context.scene, depsgraph)
            bones = apply_solution(obj, solution)
            if context.scene.tool_settings.use_keyframe_insert_auto:
                keyframe_solution(obj, solution, bones, context.scene.frame_current)
            summary = solution.summary()
            summary = summary[0].upper() + summary[1:]
            set_message(obj.ik_engine, summary, not solution.result.converged)
            self.report({"INFO"} if solution.result.converged else {"WARNING"}, summary)
            return {"FINISHED"}

        return run_reported(self, context, obj, work)


class IK_ENGINE_OT_bake(ArmatureOperator, bpy.types.Operator):
    """Solve every frame of a range, each starting from the previous frame's pose, and keyframe the
    pose bones (rotations, and the root's location with Move Root)"""

    bl_idname = "ik_engine.bake"
    bl_label = "Bake Frame Range"
    bl_options = {"REGISTER", "UNDO"}

    frame_start: IntProperty(name="Start", description="First frame (0 with End 0: the scene's range)", default=0)
    frame_end: IntProperty(name="End", description="Last frame (included)", default=0)

    def execute(self, context):
        obj = active_armature(context)
        scene = context.scene
        start, end = self.frame_start, self.frame_end
        if start == 0 and end == 0:
            start, end = scene.frame_start, scene.frame_end

        def work():
            if end < start:
                raise AddonError(f"the frame range {start}..{end} is empty: End must not be before Start")
            with suspended():  # live mode must not re-solve as the frames go by
                return bake_range()

        def bake_range():
            original_frame = scene.frame_current
            solutions = []
            try:
                pose = None
                for frame in range(start, end + 1):
                    scene.frame_set(frame)
                    try:
                        problem = read_problem(obj, scene, context.evaluated_depsgraph_get(), init=pose)
                        solution = solve_problem(problem)
                    except AddonError as exc:
                        raise AddonError(f"frame {frame}: {exc}") from None
                    solutions.append((frame, solution))
                    pose = solution.pose
            finally:
                scene.frame_set(original_frame)
            # Everything solved: now write, frame by frame.
            for frame, solution in solutions:
                bones = apply_solution(obj, solution)
                keyframe_solution(obj, solution, bones, frame)
            scene.frame_set(original_frame)
            met = sum(s.result.converged for _, s in solutions)
            worst = max(s.position_error for _, s in solutions)
            text = f"Baked frames {start}-{end}: {met}/{len(solutions)} met every target; largest position error {worst * 1e3:.2f} mm"
            set_message(obj.ik_engine, text, met < len(solutions))
            self.report({"INFO"} if met == len(solutions) else {"WARNING"}, text)
            return {"FINISHED"}

        return run_reported(self, context, obj, work)


class IK_ENGINE_OT_live_toggle(ArmatureOperator, bpy.types.Operator):
    """Turn Live on or off: when on, the armature re-solves whenever one of its targets moves"""

    bl_idname = "ik_engine.live_toggle"
    bl_label = "Live"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        obj = active_armature(context)
        settings = obj.ik_engine
        settings.live = not settings.live
        if settings.live:
            start_live(obj, context)
        else:
            set_message(settings, "Live off", False)
        return {"FINISHED"}


def look_axis_for(armature_object, bone: str) -> str:
    """The bone axis a new Look At uses: the one nearest the character's front on an SMPL-X
    armature, else +Y (along the bone, like Blender's Damped Track)."""
    from .armature_skeleton import armature_model

    try:
        model = armature_model(armature_object)
    except (AddonError, DependencyError):
        return "Y"
    if model.R_armature_smplx is None:
        return "Y"
    j = model.joint_of_bone(bone)
    forward_bone = model.R_armature_bone[j].T @ model.R_armature_smplx @ np.array([0.0, 0.0, 1.0])
    return max(AXIS_VECTORS, key=lambda name: float(np.dot(AXIS_VECTORS[name], forward_bone)))


def armature_size(armature_object) -> float:
    """A length to place new targets with: the armature's largest world dimension (1 if empty)."""
    size = max(armature_object.dimensions)
    return float(size) if size > 1e-6 else 1.0


def new_target(context, armature_object, item, depsgraph):
    """Create an empty where the constraint is met in the current pose, and hook it to ``item``."""
    T_world_bone, head, tail = posed_bone_world(armature_object, item.bone, depsgraph)
    size = armature_size(armature_object)
    matrix = np.eye(4)
    if item.kind == "REACH":
        matrix = T_world_bone.copy()
        matrix[:3, 3] = tail if item.point == "TAIL" else head
        display = "ARROWS" if item.use_rotation else "SPHERE"
    elif item.kind == "LOOK_AT":
        direction = T_world_bone[:3, :3] @ np.array(AXIS_VECTORS[item.axis])
        matrix[:3, 3] = head + 0.3 * size * direction
        display = "CONE"
    else:  # POLE: in front of the bend, or along the bone's +Z when the limb is straight
        a = parent_head(armature_object, item.bone, depsgraph)
        c = first_child_head(armature_object, item.bone, depsgraph)
        line = (c - a) / max(np.linalg.norm(c - a), 1e-9)
        bend = (head - a) - line * float((head - a) @ line)
        if np.linalg.norm(bend) < 1e-3 * size:
            bend = T_world_bone[:3, 2]
        matrix[:3, 3] = head + 0.3 * size * bend / np.linalg.norm(bend)
        display = "PLAIN_AXES"
    empty = bpy.data.objects.new(f"IK {KIND_LABELS[item.kind]} {item.bone}", None)
    empty.empty_display_type = display
    empty.empty_display_size = 0.04 * size
    from mathutils import Matrix

    empty.matrix_world = Matrix(matrix.tolist())
    collection = armature_object.users_collection[0] if armature_object.users_collection else context.collection
    collection.objects.link(empty)
    item.target = empty
    return empty


def parent_head(armature_object, bone: str, depsgraph) -> np.ndarray:
    parent = armature_object.data.bones[bone].parent
    if parent is None:
        raise AddonError(f"a Pole needs a limb's middle bone; {bone!r} has no parent")
    return posed_bone_world(armature_object, parent.name, depsgraph)[1]


def first_child_head(armature_object, bone: str, depsgraph) -> np.ndarray:
    children = armature_object.data.bones[bone].children
    if not len(children):
        raise AddonError(f"a Pole needs a limb's middle bone; {bone!r} has no child")
    return posed_bone_world(armature_object, children[0].name, depsgraph)[1]


def add_constraint(context, armature_object, kind: str, bone: str, create_target: bool = True, **fields):
    """Append a constraint item (and its target empty); AddonError for a missing bone.

    Returns the new item.
    """
    settings = armature_object.ik_engine
    if bone and armature_object.data.bones.get(bone) is None:
        raise AddonError(f"armature {armature_object.name!r} has no bone {bone!r}")
    if not bone and kind != "FLOOR":
        raise AddonError(f"a {KIND_LABELS[kind]} constraint needs a bone: make one active (click it in Pose Mode)")
    depsgraph = context.evaluated_depsgraph_get()
    if kind == "POLE":  # check the limb before changing anything
        parent_head(armature_object, bone, depsgraph)
        first_child_head(armature_object, bone, depsgraph)
    item = settings.constraints.add()
    item.kind = kind
    item.bone = bone
    if kind == "LOOK_AT" and "axis" not in fields:
        item.axis = look_axis_for(armature_object, bone)
    for name, value in fields.items():
        setattr(item, name, value)
    settings.active_index = len(settings.constraints) - 1
    if create_target and kind in KINDS_WITH_TARGET:
        new_target(context, armature_object, item, depsgraph)
    return item


class IK_ENGINE_OT_constraint_add(ArmatureOperator, bpy.types.Operator):
    """Add a constraint on the active bone, with a target empty placed where it is met now"""

    bl_idname = "ik_engine.constraint_add"
    bl_label = "Add IK Constraint"
    bl_options = {"REGISTER", "UNDO"}

    kind: EnumProperty(name="Kind", items=CONSTRAINT_KINDS)
    bone: StringProperty(name="Bone", description="Bone name (empty: the active bone)")
    create_target: BoolProperty(name="Create Target", description="Create an empty as the target", default=True)

    def execute(self, context):
        obj = active_armature(context)

        def work():
            bone = self.bone or (active_bone_name(obj) if self.kind != "FLOOR" else "")
            item = add_constraint(context, obj, self.kind, bone, self.create_target)
            set_message(obj.ik_engine, f"Added {KIND_LABELS[item.kind]} on {item.bone or 'all bones'}", False)
            return {"FINISHED"}

        return run_reported(self, context, obj, work)


class IK_ENGINE_OT_constraint_remove(bpy.types.Operator):
    """Remove the active constraint (its target object stays in the scene unless asked)"""

    bl_idname = "ik_engine.constraint_remove"
    bl_label = "Remove IK Constraint"
    bl_options = {"REGISTER", "UNDO"}

    index: IntProperty(name="Index", description="Constraint to remove (-1: the active one)", default=-1)
    delete_target: BoolProperty(name="Delete Target", description="Also delete its target object", default=False)

    @classmethod
    def poll(cls, context):
        obj = active_armature(context)
        if obj is None or not len(obj.ik_engine.constraints):
            cls.poll_message_set("The armature has no IK Engine constraint to remove")
            return False
        return True

    def execute(self, context):
        obj = active_armature(context)

        def work():
            settings = obj.ik_engine
            index = settings.active_index if self.index < 0 else self.index
            if not 0 <= index < len(settings.constraints):
                raise AddonError(f"there is no constraint {index + 1} (the armature has {len(settings.constraints)})")
            target = settings.constraints[index].target
            settings.constraints.remove(index)
            settings.active_index = max(0, min(settings.active_index, len(settings.constraints) - 1))
            if self.delete_target and target is not None:
                bpy.data.objects.remove(target)
            return {"FINISHED"}

        return run_reported(self, context, obj, work)


class IK_ENGINE_OT_add_smplx_armature(bpy.types.Operator):
    """Add an SMPL-X armature from ik-engine's default skeleton, with its CC0 body mesh"""

    bl_idname = "ik_engine.add_smplx_armature"
    bl_label = "Add SMPL-X Armature"
    bl_options = {"REGISTER", "UNDO"}

    with_mesh: BoolProperty(name="Body Mesh", description="Add the skinned CC0 body mesh", default=True)
    with_targets: BoolProperty(
        name="Hand, Foot and Head Targets",
        description="Add Reach targets for both wrists and ankles and a Look At for the head", default=False,
    )

    def execute(self, context):
        from .smplx_armature import create_smplx_armature

        def work():
            if context.mode != "OBJECT":
                raise AddonError("switch to Object Mode to add an armature")
            obj = create_smplx_armature(context, with_mesh=self.with_mesh, location=tuple(context.scene.cursor.location))
            if self.with_targets:
                context.view_layer.update()
                for kind, bone in BODY_TARGETS:
                    add_constraint(context, obj, kind, bone)
            return {"FINISHED"}

        return run_reported(self, context, None, work)


class IK_ENGINE_OT_reach_point(bpy.types.Operator):
    """Reach with the bone's head or tail; the target empty moves with the point (by the bone's
    head-to-tail vector as posed now), so the constraint stays met where it was"""

    bl_idname = "ik_engine.reach_point"
    bl_label = "Reach Point"
    bl_options = {"REGISTER", "UNDO"}

    point: EnumProperty(name="Point", items=BONE_POINTS)
    index: IntProperty(name="Index", description="The Reach constraint (-1: the active one)", default=-1)

    def execute(self, context):
        obj = active_armature(context)

        def work():
            settings = obj.ik_engine
            index = settings.active_index if self.index < 0 else self.index
            if not 0 <= index < len(settings.constraints) or settings.constraints[index].kind != "REACH":
                raise AddonError(f"constraint {index + 1} is not a Reach constraint")
            item = settings.constraints[index]
            if item.point != self.point and item.target is not None:
                _, head, tail = posed_bone_world(obj, item.bone, context.evaluated_depsgraph_get())
                from mathutils import Matrix

                matrix = np.array(item.target.matrix_world, dtype=np.float64)
                matrix[:3, 3] += (tail - head) if self.point == "TAIL" else (head - tail)
                item.target.matrix_world = Matrix(matrix.tolist())
            item.point = self.point
            return {"FINISHED"}

        return run_reported(self, context, obj, work)


CLASSES = (
    IK_ENGINE_OT_reach_point,
    IK_ENGINE_OT_solve,
    IK_ENGINE_OT_bake,
    IK_ENGINE_OT_live_toggle,
    IK_ENGINE_OT_constraint_add,
    IK_ENGINE_OT_constraint_remove,
    IK_ENGINE_OT_add_smplx_armature,
)
