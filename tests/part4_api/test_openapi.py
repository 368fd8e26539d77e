"""The OpenAPI schema (/api/schema/) and Swagger UI (/api/docs/)."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from rest_framework import status
from rest_framework.test import APIClient

from .paths import LIST_URL

pytestmark = pytest.mark.django_db

SIDECAR = "/static/drf_spectacular_sidecar/swagger-ui-dist/"


@pytest.fixture
def schema(api_client: APIClient) -> dict[str, Any]:
    """The OpenAPI document the API serves, decoded, with Part 4's paths only.

    The same document describes other parts' endpoints; they are not Part 4's to specify.
    """
    response = api_client.get("/api/schema/")
    assert response.status_code == status.HTTP_200_OK
    document: dict[str, Any] = yaml.safe_load(response.content)
    document["paths"] = {
        path: item for path, item in document["paths"].items() if path.startswith(LIST_URL)
    }
    return document


@pytest.mark.req("P4.OAS.1")
def test_the_schema_is_openapi_3_with_every_operation(schema: dict[str, Any]) -> None:
    """The document is OpenAPI 3 and lists the two paths with their five verbs."""
    operations = {path: sorted(item) for path, item in schema["paths"].items()}

    assert schema["openapi"].startswith("3.")
    assert operations == {
        "/api/elements/": ["get", "post"],
        "/api/elements/{element_id}/": ["delete", "get", "patch", "put"],
    }


@pytest.mark.req("P4.OAS.1")
@pytest.mark.parametrize(
    ("path", "method", "codes"),
    [
        ("/api/elements/", "get", ["200", "400", "406"]),
        ("/api/elements/", "post", ["201", "400", "406", "409", "411", "413", "415"]),
        ("/api/elements/{element_id}/", "get", ["200", "404", "406"]),
        (
            "/api/elements/{element_id}/",
            "put",
            ["200", "400", "404", "406", "409", "411", "413", "415"],
        ),
        (
            "/api/elements/{element_id}/",
            "patch",
            ["200", "400", "404", "406", "409", "411", "413", "415"],
        ),
        ("/api/elements/{element_id}/", "delete", ["204", "404"]),
    ],
)
def test_each_operation_documents_its_status_codes(
    schema: dict[str, Any], path: str, method: str, codes: list[str]
) -> None:
    """Success and every error code an operation can answer are in the schema."""
    assert sorted(schema["paths"][path][method]["responses"]) == codes


@pytest.mark.req("P4.OAS.1")
def test_errors_are_documented_with_the_error_body(schema: dict[str, Any]) -> None:
    """Every 4xx response has the Error shape: detail, plus optional errors."""
    error_refs = {
        response["content"]["application/json"]["schema"]["$ref"]
        for item in schema["paths"].values()
        for operation in item.values()
        for code, response in operation["responses"].items()
        if code.startswith("4")
    }

    assert error_refs == {"#/components/schemas/Error"}
    assert schema["components"]["schemas"]["Error"]["required"] == ["detail"]


@pytest.mark.req("P4.OAS.1")
def test_the_post_body_is_an_object_of_elements_or_one_element(schema: dict[str, Any]) -> None:
    """The POST body is documented as the union it is, with the element's own shape."""
    body = schema["paths"]["/api/elements/"]["post"]["requestBody"]["content"]["application/json"]
    element = schema["components"]["schemas"]["ElementInput"]

    assert body["schema"] == {
        "oneOf": [
            {"$ref": "#/components/schemas/ElementsByKey"},
            {"$ref": "#/components/schemas/ElementInput"},
        ]
    }
    assert element["required"] == ["id", "data"]
    assert element["additionalProperties"] is False
    assert element["not"] == {"required": ["deviceName", "device_name"]}


@pytest.mark.req("P4.OAS.1", "P4.POST.7")
def test_the_schema_states_the_element_limit_in_force(schema: dict[str, Any]) -> None:
    """ElementsByKey's maxProperties is EXAM_API_MAX_ELEMENTS (1000 by default)."""
    assert schema["components"]["schemas"]["ElementsByKey"]["maxProperties"] == 1000


@pytest.mark.req("P4.OAS.1", "P4.GET.3")
def test_the_list_parameters_state_their_ranges(schema: dict[str, Any]) -> None:
    """limit, offset and device_name are documented with the ranges the API enforces."""
    parameters = {
        parameter["name"]: parameter["schema"]
        for parameter in schema["paths"]["/api/elements/"]["get"]["parameters"]
    }

    assert parameters == {
        "device_name": {"type": "string", "pattern": "^[^\\u0000]*$"},
        "limit": {"type": "integer", "minimum": 1, "maximum": 1000},
        "offset": {"type": "integer", "minimum": 0, "maximum": 2**63 - 1},
    }


@pytest.mark.req("P4.OAS.1")
@pytest.mark.parametrize(
    ("element_id", "valid"),
    [
        ("aabbcc1", True),
        ("a", True),
        (".a", True),
        ("...", True),
        ("a" * 64, True),
        (".", False),
        ("..", False),
        ("", False),
        ("a" * 65, False),
        ("a b", False),
        ("é", False),
    ],
)
def test_the_documented_id_pattern_is_the_rule_the_api_applies(
    schema: dict[str, Any], api_client: APIClient, element_id: str, valid: bool
) -> None:
    """The id pattern of the schema accepts exactly the ids a POST accepts."""
    pattern = schema["components"]["schemas"]["ElementInput"]["properties"]["id"]["pattern"]

    response = api_client.post("/api/elements/", {"id": element_id, "data": ["1"]}, format="json")

    assert (re.fullmatch(pattern, element_id) is not None) is valid
    assert (response.status_code == status.HTTP_201_CREATED) is valid


@pytest.mark.req("P4.OAS.1")
def test_list_items_carry_no_raw_data_and_detail_does(schema: dict[str, Any]) -> None:
    """The list's item shape leaves out data; the detail shape has it."""
    components = schema["components"]["schemas"]

    assert "data" not in components["ElementSummary"]["properties"]
    assert components["ElementDetail"]["properties"]["data"]["type"] == "array"


@pytest.mark.req("P4.OAS.1")
def test_swagger_ui_loads_its_assets_from_this_server(api_client: APIClient) -> None:
    """The docs page uses the sidecar's self-hosted Swagger UI, served here: no CDN."""
    page = api_client.get("/api/docs/")
    scripts = re.findall(r'src="([^"]+)"', page.content.decode())

    assert page.status_code == status.HTTP_200_OK
    assert scripts == [
        f"{SIDECAR}swagger-ui-bundle.js",
        f"{SIDECAR}swagger-ui-standalone-preset.js",
    ]
    for script in scripts:
        assert api_client.get(script).status_code == status.HTTP_200_OK
