from django import template

register = template.Library()


@register.filter
def num(value, digits=4):
    """A float shown with `digits` significant digits; blank for None."""
    if value is None or value == "":
        return ""
    return f"{float(value):.{int(digits)}g}"


@register.filter
def get_item(mapping, key):
    return mapping.get(key, key)
