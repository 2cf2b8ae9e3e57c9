"""What the add-on stores in the .blend file: the constraints and settings of each armature.

``Object.ik_engine`` (an ``IKEngineArmatureSettings``) holds, for an armature object, its list of
constraints (each one bone, one kind, usually one target object), the solve options and the last
message for the panel. Priorities follow the engine: 0 is the highest; a level is optimised only
in the freedom the levels above it leave.
"""

import bpy
from bpy.props import (
    BoolProperty,
    CollectionProperty,
    EnumProperty,
    FloatProperty,
    FloatVectorProperty,
    IntProperty,
    PointerProperty,
    StringProperty,
)

CONSTRAINT_KINDS = [
    ("REACH", "Reach", "The bone reaches the target object's location (and optionally its rotation)", "CON_TRACKTO", 0),
    ("LOOK_AT", "Look At", "An axis of the bone points at the target object", "HIDE_OFF", 1),
    ("POLE", "Pole", "The limb around the bone (its parent, the bone, its first child) bends toward the target object", "CON_SPLINEIK", 2),
    ("PIN", "Pin", "The bone keeps its position (and optionally its rotation) from the pose the solve starts from", "PINNED", 3),
    ("FLOOR", "Floor", "Bones stay above a horizontal floor (at the target object's height, or the world's z = 0)", "AXIS_TOP", 4),
]
KIND_LABELS = {identifier: label for identifier, label, *_ in CONSTRAINT_KINDS}
KIND_ICONS = {identifier: icon for identifier, _, _, icon, _ in CONSTRAINT_KINDS}
# Kinds that need a target object.
KINDS_WITH_TARGET = {"REACH", "LOOK_AT", "POLE"}

BONE_AXES = [
    ("X", "X", "The bone's +X axis"),
    ("-X", "-X", "The bone's -X axis"),
    ("Y", "Y", "The bone's +Y axis (along the bone, head to tail)"),
    ("-Y", "-Y", "The bone's -Y axis"),
    ("Z", "Z", "The bone's +Z axis"),
    ("-Z", "-Z", "The bone's -Z axis"),
]
BONE_POINTS = [
    ("HEAD", "Head", "The bone's head: the joint itself"),
    ("TAIL", "Tail", "The bone's tail, like Blender's IK constraint"),
]


class IKEngineConstraint(bpy.types.PropertyGroup):
    """One constraint of an armature: a kind, a bone, a target object, a weight, a priority."""

    kind: EnumProperty(name="Kind", items=CONSTRAINT_KINDS, default="REACH")
    enabled: BoolProperty(name="Enabled", description="Use this constraint when solving", default=True)
    bone: StringProperty(name="Bone", description="The bone this constraint acts on (Floor: empty means all bones)")
    target: PointerProperty(name="Target", type=bpy.types.Object, description="The scene object that gives the target")
    weight: FloatProperty(
        name="Weight", description="Importance relative to other constraints of the same priority",
        default=1.0, min=0.0, soft_max=10.0,
    )
    priority: IntProperty(
        name="Priority", description="0 is the highest; a level only uses the freedom the higher levels leave",
        default=0, min=0, soft_max=5,
    )
    use_rotation: BoolProperty(
        name="Rotation", description="Reach: also match the target's rotation. Pin: also keep the bone's rotation",
        default=False,
    )
    point: EnumProperty(name="Point", items=BONE_POINTS, default="HEAD", description="Which point of the bone reaches the target")
    axis: EnumProperty(name="Axis", items=BONE_AXES, default="Y", description="The bone axis that points at the target")
    clearance: FloatProperty(
        name="Clearance", description="How far above the floor the bones' heads stay", default=0.0, min=0.0,
        soft_max=0.2, unit="LENGTH",
    )
    # Bookkeeping of following.py (not shown): the bone's rest head and tail, by which a
    # renamed bone is found again.
    bone_rest: FloatVectorProperty(size=6, options={"HIDDEN"})
    bone_rest_name: StringProperty(options={"HIDDEN"})


class IKEngineArmatureSettings(bpy.types.PropertyGroup):
    """The add-on's data on an armature object."""

    constraints: CollectionProperty(type=IKEngineConstraint)
    active_index: IntProperty(name="Active Constraint", default=0, min=0)
    move_root: BoolProperty(
        name="Move Root", description="Also solve for the root bone's location (armatures with one root bone)",
        default=False,
    )
    # Toggled by the ik_engine.live_toggle operator, which also solves at once. (No RNA update
    # callback: Blender as a Python module crashes at exit when a property holds one.)
    live: BoolProperty(
        name="Live", description="Re-solve whenever a target object moves (warm-started from the current pose)",
        default=False,
    )
    message: StringProperty(name="Message", description="The last solve's outcome or problem")
    message_is_error: BoolProperty(default=False)


CLASSES = (IKEngineConstraint, IKEngineArmatureSettings)


def register() -> None:
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    bpy.types.Object.ik_engine = PointerProperty(type=IKEngineArmatureSettings)


def unregister() -> None:
    if hasattr(bpy.types.Object, "ik_engine"):
        del bpy.types.Object.ik_engine
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
