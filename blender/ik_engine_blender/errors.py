"""The add-on's one exception: a message for the user, shown in Blender's interface."""


class AddonError(Exception):
    """Something the user can fix (no armature, a deleted target, a renamed bone...).

    Operators report it (``self.report({'ERROR'}, str(error))``) and live mode shows it in the
    panel; it never reaches the user as a traceback. Raised before anything in the scene is
    written, so a failed operator leaves the scene as it was.
    """
