"""The route table; handlers live in views.py."""

from __future__ import annotations

from aiohttp import web

from moderation.web import home, ui, views


def setup_routes(app: web.Application) -> None:
    app.router.add_post("/v1/comments", views.submit_comment)
    app.router.add_post("/v1/check", views.check_comment)
    app.router.add_get("/v1/comments/{comment_id}", views.get_comment)
    app.router.add_post("/v1/authors/forget", views.forget_author)
    app.router.add_get("/v1/review/queue", views.review_queue)
    app.router.add_post("/v1/review/claim", views.claim)
    app.router.add_post("/v1/review/{comment_id}/decision", views.decision)
    app.router.add_post("/v1/webhooks/test", views.webhook_test)
    app.router.add_get("/v1/sites/{site}/settings", views.get_site_settings)
    app.router.add_put("/v1/sites/{site}/settings", views.put_site_settings)
    app.router.add_get("/v1/sites/{site}/stats", views.site_stats)
    # The URL `make run` prints: links to the moderator page, the schema and the operations.
    app.router.add_get("/", home.index)
    app.router.add_get("/healthz", views.healthz)
    app.router.add_get("/readyz", views.readyz)
    app.router.add_get("/metrics", views.metrics)
    app.router.add_get("/openapi.json", views.openapi)
    app.router.add_get("/favicon.ico", ui.favicon)
    # Drop-in integrations: the Akismet REST API and Coral Talk's external moderation phase.
    app.router.add_post("/1.1/verify-key", views.akismet_verify_key)
    app.router.add_post("/1.1/comment-check", views.akismet_comment_check)
    app.router.add_post("/1.1/submit-spam", views.akismet_submit_spam)
    app.router.add_post("/1.1/submit-ham", views.akismet_submit_ham)
    # What Akismet's WordPress settings screen calls besides verify-key.
    app.router.add_get("/1.1/test", views.akismet_test)
    app.router.add_post("/1.1/get-subscription", views.akismet_get_subscription)
    app.router.add_post("/1.1/get-stats", views.akismet_get_stats)
    app.router.add_post("/1.2/usage-limit", views.akismet_usage_limit)
    app.router.add_post("/v1/integrations/coral/{site}", views.coral_moderate)
    # The moderator's page and its files (ui.py); the page calls the /v1/review API above.
    app.router.add_get("/moderate", ui.page)
    app.router.add_get("/moderate/session", ui.session_info)
    app.router.add_post("/moderate/session", ui.login)
    app.router.add_delete("/moderate/session", ui.logout)
    app.router.add_static("/static", ui.STATIC_DIR)
