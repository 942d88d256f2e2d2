"""OpenAPI post-processing: the error answers every endpoint can give, documented once."""

ERROR_SCHEMA = {
    "type": "object",
    "description": "Every error body is a JSON object: `detail` for general errors, field names for invalid input.",
    "properties": {"detail": {"type": "string"}},
    "additionalProperties": True,
}

COMMON_ERRORS = {
    "400": "Invalid input; the body names each bad field.",
    "401": "No or invalid credentials.",
    "403": "Authenticated, but not allowed (non-staff without the model permission, or a missing CSRF token).",
    "404": "No such object, or no such page of a list.",
    "429": "Too many requests for this API token; retry after the `Retry-After` seconds.",
}


def add_common_errors(result, generator, request, public):
    """Adds the shared error responses to every operation that does not describe them itself."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = ERROR_SCHEMA
    reference = {"$ref": "#/components/schemas/Error"}
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            for code, description in COMMON_ERRORS.items():
                responses.setdefault(
                    code, {"description": description, "content": {"application/json": {"schema": reference}}}
                )
    return result
