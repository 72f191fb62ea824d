import pytest
from fastapi.testclient import TestClient

from rag.app import create_app


@pytest.fixture(scope="module")
def client(service):
    return TestClient(create_app(service.settings, service=service))


def test_healthz(client):
    body = client.get("/healthz").json()
    assert body["status"] == "ok" and body["mode"] == "hybrid" and body["documents"] == 5


def test_api_search_is_the_cli_json(client, service):
    r = client.get("/api/search", params={"q": "carers satisfied Blackpool", "k": 3})
    assert r.status_code == 200
    assert r.json() == service.search("carers satisfied Blackpool", k=3)


@pytest.mark.parametrize("params,fragment", [
    ({"q": ""}, "empty"), ({"q": "   "}, "empty"), ({"q": "x" * 2001}, "2000"),
    ({"q": "x", "k": 0}, "k"), ({"q": "x", "k": 51}, "k"), ({"q": "x", "k": "ten"}, "k"),
    ({"q": "x", "council": "Kent"}, "Councils covered"),
])
def test_api_search_errors_say_what_to_change(client, params, fragment):
    r = client.get("/api/search", params=params)
    assert r.status_code == 422
    assert fragment in r.json()["detail"]


def test_unknown_document_filter_is_404(client):
    r = client.get("/api/search", params={"q": "x", "doc": "nope"})
    assert r.status_code == 404 and "nope" in r.json()["detail"]
