"""The viewer's GUI panel: messages, the solver's report, targets, solver options and the clip.

``Panel`` builds viser GUI controls and forwards every change to a controller (the Viewer,
app.py) through plain method calls, so the controller's methods are the one code path whether
a change comes from the browser or from Python.
"""

from __future__ import annotations

from typing import Any

from .targets import Target

NO_JOINT = "(no joint)"
OPEN_HINT = "a .bvh or .npz clip, or a body: an SMPL-X model file (.npz/.pkl) or a .bvh skeleton"


class Panel:
    """GUI controls of one viewer. ``controller`` is the Viewer (see app.py)."""

    def __init__(self, server: Any, controller: Any, moving_choices: list[str]) -> None:
        gui = server.gui
        self.controller = controller
        gui.configure_theme(control_width="large")
        self.status = gui.add_markdown("Drag a gizmo to pose the body.")
        with gui.add_folder("Solver"):
            self.report = gui.add_markdown("No solve yet.")
            self.moving = gui.add_dropdown("Moving joints", tuple(moving_choices), initial_value=moving_choices[0])
            self.move_root = gui.add_checkbox("Move root", initial_value=False)
            self.show_mesh = gui.add_checkbox("Show mesh", initial_value=True)
            self.show_skeleton = gui.add_checkbox("Show skeleton", initial_value=True)
            self.limit_region = gui.add_dropdown("Show limits of", (NO_JOINT,), initial_value=NO_JOINT,
                                                 hint="the region the joint's child bone can reach within its limits")
            self.reset = gui.add_button("Reset to rest pose")
        self.targets_folder = gui.add_folder("Targets")
        self.target_controls: dict[str, dict[str, Any]] = {}
        with gui.add_folder("Clip"):
            self.path = gui.add_text("File", initial_value="", hint=OPEN_HINT)
            self.open = gui.add_button("Open file")
            self.upload = gui.add_upload_button("Upload file", hint=OPEN_HINT)
            self.timeline = gui.add_slider("Frame", min=0, max=1, step=1, initial_value=0, disabled=True)
            self.playing = gui.add_checkbox("Play", initial_value=False)
            self.fps = gui.add_number("Frame rate", initial_value=30.0, min=0.1, max=240.0, step=0.1)
        self.gui = gui
        self._connect()

    def _connect(self) -> None:
        c = self.controller
        self.moving.on_update(lambda _: c.set_moving_joints(self.moving.value))
        self.move_root.on_update(lambda _: c.set_move_root(self.move_root.value))
        self.show_mesh.on_update(lambda _: c.set_visible(mesh=self.show_mesh.value))
        self.show_skeleton.on_update(lambda _: c.set_visible(skeleton=self.show_skeleton.value))
        self.limit_region.on_update(
            lambda _: c.show_limit_region(None if self.limit_region.value == NO_JOINT else self.limit_region.value))
        self.reset.on_click(lambda _: c.reset())
        self.open.on_click(lambda _: c.open(self.path.value))
        self.upload.on_upload(lambda _: c.open_uploaded(self.upload.value.name, self.upload.value.content))
        self.timeline.on_update(lambda _: c.show_frame(int(self.timeline.value)))
        self.playing.on_update(lambda _: c.set_playing(self.playing.value))
        self.fps.on_update(lambda _: c.set_fps(float(self.fps.value)))

    def add_targets(self, targets: dict[str, Target]) -> None:
        """One sub-folder per target: on/off, weight, priority (and rotation / pin)."""
        for folder in self.target_controls.values():
            folder["folder"].remove()
        self.target_controls.clear()
        c = self.controller
        with self.targets_folder:
            for name, t in targets.items():
                with self.gui.add_folder(name.replace("_", " "), expand_by_default=t.enabled) as folder:
                    controls = {"folder": folder,
                                "enabled": self.gui.add_checkbox("On", initial_value=t.enabled),
                                "weight": self.gui.add_number("Weight", initial_value=t.weight, min=0.0, step=0.1),
                                "priority": self.gui.add_number("Priority", initial_value=t.priority, min=0, step=1)}
                    if t.kind == "hand":
                        controls["use_rotation"] = self.gui.add_checkbox("Rotation", initial_value=t.use_rotation)
                    if t.kind == "foot":
                        controls["pinned"] = self.gui.add_checkbox("Pinned", initial_value=t.pinned)
                for option, control in controls.items():
                    if option != "folder":
                        control.on_update(lambda _, n=name, o=option, h=control: c.set_target_option(n, **{o: h.value}))
                self.target_controls[name] = controls

    def show_clip(self, frames: int, fps: float) -> None:
        """Set the timeline for a clip of ``frames`` frames."""
        self.playing.value = False
        self.timeline.max = max(1, frames - 1)
        self.timeline.disabled = frames < 2
        self.fps.value = round(float(fps), 1)
        self.timeline.value = 0

    def say(self, text: str, error: bool = False) -> None:
        """Show a message at the top of the panel (errors marked as such)."""
        self.status.content = f"**Error:** {text}" if error else text
