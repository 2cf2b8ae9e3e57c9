"""The IK Engine panel in the 3D view's sidebar (N), and what it tells the user."""

from __future__ import annotations

import bpy

from . import dependencies
from .preferences import wrap
from .properties import BONE_POINTS, KIND_ICONS, KIND_LABELS, KINDS_WITH_TARGET
from .scene_lookup import active_armature

WRAP_WIDTH = 42


def constraint_problems(armature_object, scene) -> list[str]:
    """What would stop a solve, found without the engine: missing bones, missing targets."""
    problems = []
    bones = armature_object.data.bones
    for i, item in enumerate(armature_object.ik_engine.constraints):
        if not item.enabled:
            continue
        name = f"{KIND_LABELS.get(item.kind, item.kind)} {i + 1}"
        if item.bone and bones.get(item.bone) is None:
            problems.append(f"{name}: bone {item.bone!r} is not in the armature (renamed?)")
        elif not item.bone and item.kind != "FLOOR":
            problems.append(f"{name}: no bone chosen")
        if item.kind in KINDS_WITH_TARGET:
            if item.target is None:
                problems.append(f"{name}: no target object (deleted?)")
            elif scene.objects.get(item.target.name) is not item.target:
                problems.append(f"{name}: target {item.target.name!r} is not in the scene")
    if not len(armature_object.ik_engine.constraints):
        problems.append("No constraints yet: add one (on the active bone) with Add")
    return problems


def limits_summary(armature_object) -> str:
    """Where the armature's joint limits come from, e.g. 'Limits: SMPL-X table on 55 bones'."""
    if armature_object.mode == "EDIT":
        return ""
    from .armature_skeleton import armature_model

    try:
        model = armature_model(armature_object)
    except Exception:  # no engine, or an armature the panel reports elsewhere
        return ""
    sources = [model.limit_source[j] for j in model.real_joints]
    parts = [f"{label} on {sources.count(key)} bones" for key, label in
             (("smplx", "SMPL-X table"), ("ik", "IK settings"), ("none", "none")) if sources.count(key)]
    return "Limits: " + ", ".join(parts)


def panel_messages(context) -> list[tuple[str, str]]:
    """(icon, text) lines the panel shows above its controls."""
    messages = []
    available, message = dependencies.engine_status()
    if not available:
        messages.append(("ERROR", message))
    obj = active_armature(context)
    if obj is None:
        messages.append(("INFO", "Select an armature to pose it with IK Engine, or add an SMPL-X armature"))
        return messages
    messages.extend(("ERROR", text) for text in constraint_problems(obj, context.scene))
    settings = obj.ik_engine
    if settings.message:
        messages.append(("ERROR" if settings.message_is_error else "INFO", settings.message))
    return messages


class IK_ENGINE_UL_constraints(bpy.types.UIList):
    """One row per constraint: on/off, kind, bone, target, weight, priority."""

    def draw_item(self, context, layout, data, item, icon, active_data, active_property, index=0, flt_flag=0):
        row = layout.row(align=True)
        row.prop(item, "enabled", text="")
        row.label(text=f"{item.bone or 'all bones'}", icon=KIND_ICONS.get(item.kind, "DOT"))
        if item.kind in KINDS_WITH_TARGET:
            row.label(text=item.target.name if item.target is not None else "no target", icon="EMPTY_AXIS")
        row.prop(item, "weight", text="", emboss=False)
        row.prop(item, "priority", text="", emboss=False)


class VIEW3D_PT_ik_engine(bpy.types.Panel):
    bl_label = "IK Engine"
    bl_idname = "VIEW3D_PT_ik_engine"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "IK Engine"

    def draw(self, context):
        layout = self.layout
        for icon, text in panel_messages(context):
            box = layout.box()
            lines = wrap(text, WRAP_WIDTH)
            box.label(text=lines[0], icon=icon)
            for line in lines[1:]:
                box.label(text=line)
        available, _ = dependencies.engine_status()
        if not available:
            layout.operator("ik_engine.install_dependencies", icon="IMPORT")
        layout.operator("ik_engine.add_smplx_armature", icon="OUTLINER_OB_ARMATURE")
        obj = active_armature(context)
        if obj is None:
            return
        settings = obj.ik_engine
        layout.label(text=f"Armature: {obj.name}", icon="ARMATURE_DATA")
        summary = limits_summary(obj)
        if summary:
            layout.label(text=summary)
        layout.label(text="Constraints (weight, priority: 0 first)")
        row = layout.row()
        row.template_list("IK_ENGINE_UL_constraints", "", settings, "constraints", settings, "active_index", rows=4)
        column = row.column(align=True)
        column.operator_menu_enum("ik_engine.constraint_add", "kind", text="", icon="ADD")
        column.operator("ik_engine.constraint_remove", text="", icon="REMOVE")
        if 0 <= settings.active_index < len(settings.constraints):
            self.draw_item_details(layout, obj, settings.constraints[settings.active_index])
        layout.separator()
        layout.prop(settings, "move_root")
        row = layout.row(align=True)
        row.scale_y = 1.3
        row.operator("ik_engine.solve", icon="PLAY")
        row.operator("ik_engine.live_toggle", text="Live", icon="REC", depress=settings.live)
        row = layout.row(align=True)
        op = row.operator("ik_engine.bake", icon="KEYINGSET")
        op.frame_start, op.frame_end = context.scene.frame_start, context.scene.frame_end
        layout.label(text=f"Bakes frames {context.scene.frame_start}-{context.scene.frame_end} (scene range)")

    @staticmethod
    def draw_item_details(layout, obj, item):
        box = layout.box()
        box.label(text=KIND_LABELS.get(item.kind, item.kind), icon=KIND_ICONS.get(item.kind, "DOT"))
        box.prop_search(item, "bone", obj.data, "bones")
        if item.kind in KINDS_WITH_TARGET or item.kind == "FLOOR":
            box.prop(item, "target")
        row = box.row(align=True)
        row.prop(item, "weight")
        row.prop(item, "priority")
        if item.kind == "REACH":
            row = box.row(align=True)  # an operator, so that the target moves with the point
            for identifier, label, _ in BONE_POINTS:
                op = row.operator("ik_engine.reach_point", text=label, depress=item.point == identifier)
                op.point = identifier
            box.prop(item, "use_rotation")
        elif item.kind == "LOOK_AT":
            box.prop(item, "axis", expand=True)
        elif item.kind == "PIN":
            box.prop(item, "use_rotation")
        elif item.kind == "FLOOR":
            box.prop(item, "clearance")


CLASSES = (IK_ENGINE_UL_constraints, VIEW3D_PT_ik_engine)
