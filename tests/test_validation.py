"""Every rejection path of the intake, with its status code and field."""

from __future__ import annotations

import pytest

from tests.conftest import Api, Site, comment


async def post(api: Api, site: Site, data: bytes | None = None, *, json: object = None,
               content_type: str = "application/json", path: str = "/v1/comments") -> tuple[int, dict]:
    headers = {"Content-Type": content_type}
    if json is not None:
        import msgspec

        data = msgspec.json.encode(json)
    resp = await api.request("POST", path, site.api_key, data=data, headers=headers)
    assert resp.headers["Content-Type"].startswith(("application/problem+json", "application/json"))
    return resp.status, await resp.json(content_type=None)


def fields(reply: dict) -> set[str]:
    return {e["field"] for e in reply.get("errors", [])}


async def test_wordpress_form_missing_email_names_author_email(api: Api, site: Site) -> None:
    body = comment()
    del body["author_email"]
    status, reply = await post(api, site, json=body)
    assert status == 422
    assert fields(reply) == {"author_email"}
    assert reply["errors"][0]["code"] == "required"


async def test_every_bad_field_is_reported_at_once(api: Api, site: Site) -> None:
    status, reply = await post(api, site, json={"post_id": "", "author_name": "   ", "content": " ",
                                                "author_email": "not-an-email", "user_ip": "999.1.1.1",
                                                "author_url": "javascript:alert(1)", "lang": "??"})
    assert status == 422
    assert fields(reply) == {"post_id", "author_name", "author_email", "content", "user_ip", "author_url", "lang"}


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("post_id", "x" * 201, "too_long"),
        ("post_id", 12, "type"),
        ("author_name", "ệ" * 82, "too_long"),  # 82 x 3 bytes = 246 > 245 bytes, only 82 characters
        ("author_email", "a" * 90 + "@example.vn", "too_long"),
        ("author_url", "https://example.vn/" + "a" * 190, "too_long"),
        ("author_url", "ftp://example.vn", "invalid"),
        ("post_url", "example.vn/no-scheme", "invalid"),
        ("post_title", "T" * 301, "too_long"),
        ("post_title", 5, "type"),
        ("post_title", "Tin\x00", "invalid_character"),
        ("user_ip", "10.0.0.256", "invalid"),
        ("user_agent", "U" * 513, "too_long"),
        ("content", "\x00", "invalid_character"),
        ("content", None, "required"),
        ("author_name", ["list"], "type"),
    ],
)
async def test_field_limits(api: Api, site: Site, field: str, value: object, code: str) -> None:
    status, reply = await post(api, site, json=comment(**{field: value}))
    assert status == 422, reply
    assert fields(reply) == {field}
    assert reply["errors"][0]["code"] == code


async def test_content_limit_is_utf8_bytes(api: Api, site: Site) -> None:
    # 21,842 Vietnamese letters of 3 bytes = 65,526 bytes: under the character count a
    # naive check would use, over what WordPress can store.
    too_long = "ề" * 21_842
    status, reply = await post(api, site, json=comment(content=too_long))
    assert status == 422 and fields(reply) == {"content"}
    fits = "ề" * 21_841 + "a"  # 65,524 bytes
    status, _ = await post(api, site, json=comment(content=fits))
    assert status == 202


async def test_post_title_is_kept_and_shown_to_moderators(api: Api, site: Site) -> None:
    title = "  Hà Nội: <b>ngập</b> sau mưa lớn & \"kẹt xe\"  "
    status, reply = await post(api, site, json=comment(post_title=title))
    assert status == 202
    queue = await (await api.request(
        "GET", f"/v1/review/queue?site={site.site_id}&status={reply['status']}", site.moderator_token)).json()
    [item] = [i for i in queue["items"] if i["id"] == reply["id"]]
    assert item["comment"]["post_title"] == title.strip()


async def test_ipv6_accepted(api: Api, site: Site) -> None:
    status, _ = await post(api, site, json=comment(user_ip="2001:ee0:4f0c::1"))
    assert status == 202


async def test_malformed_json_400(api: Api, site: Site) -> None:
    status, reply = await post(api, site, b'{"post_id": ')
    assert status == 400 and reply["code"] == "malformed_json"


async def test_non_object_json_400(api: Api, site: Site) -> None:
    status, _ = await post(api, site, b"[1,2,3]")
    assert status == 400


async def test_invalid_utf8_400(api: Api, site: Site) -> None:
    status, _ = await post(api, site, b'{"content": "\xff\xfe"}')
    assert status == 400


async def test_deeply_nested_json_400(api: Api, site: Site) -> None:
    status, _ = await post(api, site, b"[" * 50_000 + b"]" * 50_000)
    assert status in {400, 413}


async def test_wrong_content_type_415(api: Api, site: Site) -> None:
    status, reply = await post(api, site, b"post_id=1", content_type="application/x-www-form-urlencoded")
    assert status == 415 and reply["code"] == "unsupported_media_type"


async def test_non_utf8_charset_415(api: Api, site: Site) -> None:
    status, _ = await post(api, site, b"{}", content_type="application/json; charset=latin-1")
    assert status == 415


async def test_body_over_limit_413(api: Api, site: Site) -> None:
    status, reply = await post(api, site, b"{" + b" " * (600 * 1024) + b"}")
    assert status == 413 and reply["code"] == "payload_too_large"


async def test_missing_key_401(api: Api) -> None:
    resp = await api.request("POST", "/v1/comments", None, json=comment())
    assert resp.status == 401
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


async def test_unknown_key_401(api: Api, site: Site) -> None:
    forged = site.api_key[:-4] + "AAAA"
    resp = await api.request("POST", "/v1/comments", forged, json=comment())
    assert resp.status == 401


async def test_unknown_key_401_before_any_complaint_about_the_request(api: Api, site: Site, redis) -> None:  # type: ignore[no-untyped-def]
    # Submissions verify the key in the rules' pre-check, after the body is parsed: a forged
    # key still gets 401 for a bad body, a bad header or a good body, and nothing is stored.
    from moderation.store import keys

    forged = site.api_key[:-4] + "AAAA"
    for path in ("/v1/comments", "/v1/check"):
        assert (await api.request("POST", path, forged, json={"content": 5})).status == 401
        json_type = {"Content-Type": "application/json"}
        assert (await api.request("POST", path, forged, data=b"{", headers=json_type)).status == 401
        assert (await api.request("POST", path, forged, json=comment())).status == 401
        assert (await api.request("POST", path, "sk-nosuchsite.secret", json=comment())).status == 401
    bad_header = await api.request("POST", "/v1/comments", forged, json=comment(), headers={"Idempotency-Key": "é"})
    assert bad_header.status == 401
    stored = sum([await redis.zcard(keys.status_index(site.site_id, s)) for s in keys.STATUSES])
    assert stored == 0
    # The real key with the same bad body gets the body's own answer.
    assert (await api.request("POST", "/v1/comments", site.api_key, json={"content": 5})).status == 422


async def test_rotated_key_stops_working_at_once(api: Api, site: Site, redis) -> None:  # type: ignore[no-untyped-def]
    from moderation.store import auth

    new_key = await auth.rotate_site_key(redis, site.site_id)
    assert (await api.request("POST", "/v1/check", site.api_key, json=comment())).status == 401
    assert (await api.request("POST", "/v1/check", new_key, json=comment())).status == 200


async def test_unknown_route_is_problem_404(api: Api) -> None:
    resp = await api.request("GET", "/v1/nothing")
    assert resp.status == 404
    assert resp.headers["Content-Type"].startswith("application/problem+json")


async def test_wrong_method_405(api: Api) -> None:
    resp = await api.request("DELETE", "/v1/comments")
    assert resp.status == 405


async def test_bad_queue_query_422(api: Api, site: Site) -> None:
    for query, field in [("status=lost", "status"), ("limit=0", "limit"), ("limit=abc", "limit"),
                         ("order=sideways", "order"), ("cursor=%00", "cursor")]:
        resp = await api.request("GET", f"/v1/review/queue?site={site.site_id}&{query}", site.moderator_token)
        assert resp.status == 422, query
        assert fields(await resp.json()) == {field}


async def test_bad_decision_422(api: Api, site: Site) -> None:
    resp = await api.request("POST", "/v1/review/nope/decision", site.moderator_token, json={"decision": "maybe"})
    assert resp.status == 422
    assert fields(await resp.json()) == {"decision"}


async def test_bad_claim_422(api: Api, site: Site) -> None:
    resp = await api.request("POST", "/v1/review/claim", site.moderator_token, json={"site": site.site_id, "count": 0})
    assert resp.status == 422
    assert fields(await resp.json()) == {"count"}


async def test_decomposed_unicode_is_stored_composed(api: Api, site: Site) -> None:
    import unicodedata

    nfd = unicodedata.normalize("NFD", "Bình luận có dấu đầy đủ")
    name = unicodedata.normalize("NFD", "Trần Thị Hồng")
    status, reply = await post(api, site, json=comment(content=nfd, author_name=name))
    assert status == 202
    view = await (await api.request("GET", f"/v1/comments/{reply['id']}", site.api_key)).json()
    assert view["id"] == reply["id"]
