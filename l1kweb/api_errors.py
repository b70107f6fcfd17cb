"""Every API error is JSON with a one-sentence `detail` message."""

from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc, context):
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "detail" not in response.data:
        # Validation errors come as {field: [messages]}; give them one sentence too.
        parts = []
        for field, messages in response.data.items():
            text = " ".join(str(m) for m in messages) if isinstance(messages, list) else str(messages)
            parts.append(text if field == "non_field_errors" else f"{field}: {text}")
        response.data = {"detail": " ".join(parts), "errors": response.data}
    return response
