"""The console's routes without a stack: its files (and nothing else) under /ui/, the page shell's
scripts, the session cookie's CSRF rule, the model catalogue and the zip's folder names."""

import re
from pathlib import Path

import pytest
from functions_framework import create_app

from omtx.api.access import CONSOLE_HEADER, SESSION_COOKIE, session_key
from omtx.predictors.registry import MODELS
from omtx.tenancy.errors import Forbidden
from omtx.usecases.structures_zip import folder_name

SOURCE = Path(__file__).resolve().parents[2] / "services" / "submit" / "main.py"
STATIC = Path(__file__).resolve().parents[2] / "omtx" / "web" / "static"


@pytest.fixture(scope="module")
def client():
    return create_app("submit", str(SOURCE), "http").test_client()


def test_the_root_redirects_to_the_console(client):
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"] == "/ui/"


@pytest.mark.parametrize(
    "path", ["/ui/", "/ui/new", "/ui/usage", "/ui/batches/b0123456789abcdef", "/ui/batches/b0123456789abcdef/jobs/x"]
)
def test_every_page_is_the_shell_and_runs_only_scripts_of_its_origin(client, path):
    response = client.get(path)
    assert response.status_code == 200 and response.content_type == "text/html; charset=utf-8"
    html = response.get_data(as_text=True)
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all(body.strip() == "" and 'src="/ui/static/' in attrs for attrs, body in scripts)
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_console_files_are_served_with_their_type_and_revalidated(client):
    for name in sorted(p.name for p in STATIC.iterdir()):
        response = client.get(f"/ui/static/{name}")
        assert response.status_code == 200, name
        kind = {".js": "text/javascript", ".css": "text/css"}[Path(name).suffix]
        assert response.content_type == f"{kind}; charset=utf-8"
        assert response.headers["Cache-Control"] == "no-cache"
        again = client.get(f"/ui/static/{name}", headers={"If-None-Match": response.headers["ETag"]})
        assert again.status_code == 304 and again.get_data() == b""
    assert client.get("/ui/vendor/3Dmol-min.js").status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/ui/static/..%2Fconsole.html",
        "/ui/static/.hidden",
        "/ui/static/nope.js",
        "/ui/web/console.html",
        "/ui/vendor/VENDORED",
        "/ui/static/%2e%2e",
        "/ui/__init__.py/x",
    ],
)
def test_nothing_else_of_the_package_is_served(client, path):
    assert client.get(path).status_code == 404


def test_no_page_script_writes_markup_from_strings():
    """Escaping by construction: pages build text nodes, never HTML from strings."""
    sinks = re.compile(r"\.(inner|outer)HTML\s*[+]?=|insertAdjacentHTML\(|document\.write|\beval\(|new Function\(")
    for path in STATIC.glob("*.js"):
        assert not sinks.search(path.read_text()), f"{path.name} writes markup or runs strings"


def test_a_session_cookie_needs_the_console_header_to_change_anything():
    cookie = {"Cookie": f"other=1; {SESSION_COOKIE}=omtx_abc_def"}
    assert session_key(cookie, "GET") == "omtx_abc_def"
    assert session_key(cookie | {CONSOLE_HEADER: "1"}, "DELETE") == "omtx_abc_def"
    for method in ("POST", "DELETE", "PUT", "PATCH"):
        with pytest.raises(Forbidden, match=CONSOLE_HEADER):
            session_key(cookie, method)
        with pytest.raises(Forbidden):
            session_key(cookie | {CONSOLE_HEADER: "yes"}, method)
    assert session_key({}, "POST") is None
    assert session_key({"Cookie": f"{SESSION_COOKIE}="}, "POST") is None


def test_the_model_catalogue_describes_every_model(client):
    models = client.get("/v1/models").get_json()["models"]
    assert [m["name"] for m in models] == list(MODELS)
    for info in models:
        spec = MODELS[info["name"]]
        assert info["params_schema"] == spec.params.model_json_schema()
        assert info["metrics"][0]["name"] == spec.primary_metric
        assert len({m["name"] for m in info["metrics"]}) == len(info["metrics"])


@pytest.mark.parametrize(
    ("index", "name", "folder"),
    [
        (3, "aspirin", "000003_aspirin"),
        (12, "../../etc/passwd", "000012_etc_passwd"),
        (0, "..", "000000"),
        (7, "a/b\\c d", "000007_a_b_c_d"),
        (99, "é" * 100, "000099"),
    ],
)
def test_zip_folders_cannot_leave_the_archive(index, name, folder):
    assert folder_name(index, name) == folder
