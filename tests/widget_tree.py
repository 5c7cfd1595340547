"""The widgets of a playground."""


def widgets_in(box) -> list:
    """Every widget of a widget tree, the box first, depth first."""
    found = [box]
    for child in getattr(box, "children", ()):
        found += widgets_in(child)
    return found
