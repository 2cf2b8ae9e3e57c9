"""The add-on's preferences: install the engine into Blender's Python."""

import bpy
from bpy.props import StringProperty

from . import dependencies

ADDON_PACKAGE = __package__


class IK_ENGINE_OT_install_dependencies(bpy.types.Operator):
    """Install ik-engine (with jax and numpy) with pip into the add-on's own folder. Blender waits
    while pip downloads (a few minutes on a slow connection)"""

    bl_idname = "ik_engine.install_dependencies"
    bl_label = "Install Dependencies"
    bl_options = {"REGISTER"}

    requirement: StringProperty(
        name="Package", description="What pip installs: a name, a wheel file or a URL (empty: the preferences' value)",
    )

    def execute(self, context):
        requirement = self.requirement or preferences(context).requirement
        try:
            summary = dependencies.install(requirement)
        except dependencies.DependencyError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        except OSError as exc:  # pip could not even start
            self.report({"ERROR"}, f"could not run pip: {exc}")
            return {"CANCELLED"}
        self.report({"INFO"}, summary)
        return {"FINISHED"}


class IKEnginePreferences(bpy.types.AddonPreferences):
    bl_idname = ADDON_PACKAGE

    requirement: StringProperty(
        name="Package",
        description="What the Install button gives pip: the wheel packed with the add-on, a path to an ik-engine wheel or a clone, or a URL",
        default=dependencies.DEFAULT_REQUIREMENT,
    )

    def draw(self, context):
        layout = self.layout
        available, message = dependencies.engine_status()
        box = layout.box()
        box.label(text=message if available else "ik-engine is not installed in Blender's Python",
                  icon="CHECKMARK" if available else "ERROR")
        if not available:
            for line in wrap(message, 90):
                box.label(text=line)
        layout.prop(self, "requirement")
        row = layout.row()
        row.operator(IK_ENGINE_OT_install_dependencies.bl_idname, icon="IMPORT").requirement = self.requirement
        try:
            folder = dependencies.site_packages_dir()
        except Exception:
            folder = "(unavailable)"
        layout.label(text=f"Installs into: {folder}")


class _Defaults:
    requirement = dependencies.DEFAULT_REQUIREMENT


def preferences(context):
    """The add-on's preferences, or defaults when it runs without the add-on system."""
    addon = context.preferences.addons.get(ADDON_PACKAGE)
    return addon.preferences if addon is not None and addon.preferences is not None else _Defaults()


def wrap(text: str, width: int) -> list[str]:
    """Split a message into lines of at most ``width`` characters for UI labels."""
    import textwrap

    return textwrap.wrap(text, width) or [""]


CLASSES = (IK_ENGINE_OT_install_dependencies, IKEnginePreferences)
