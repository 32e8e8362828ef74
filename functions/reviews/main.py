"""Reviews function: entry points only; the logic lives in shared."""

from __future__ import annotations

import flask
import functions_framework
from cloudevents.http import CloudEvent

from shared import idempotency, uploads
from shared import reviews as store
from shared.http import Api, Call, Reply
from shared.schemas.reviews import (
    Review,
    ReviewBatch,
    ReviewCreate,
    ReviewList,
    ReviewListQuery,
    ReviewPage,
    ReviewUpdate,
    SentimentList,
    SentimentOut,
    SentimentRequest,
)

api = Api("reviews", "Reviews scored by the sentiment model at write time; sentiment previews.")
WRITE_ERRORS = (404, 409, 503)


def _create(call: Call, items: list[ReviewCreate], operation: str) -> Reply:
    key = idempotency.parse_key(call.request.headers.get("Idempotency-Key"))
    digest = idempotency.request_hash(operation, call.raw_body) if key else None
    created, stored = store.create(items, key, digest)
    if stored is not None:
        return Reply(stored.status, stored.response, {"Idempotent-Replayed": "true"})
    assert created is not None
    if operation == "create":
        return Reply(201, created[0], {"Location": f"/reviews/{created[0].id}"})
    return Reply(201, ReviewList(items=created))


@api.route(
    "/reviews",
    "POST",
    summary="Create a review and score it",
    body=ReviewCreate,
    response=Review,
    status=201,
    auth=True,
    errors=WRITE_ERRORS,
)
def create_review(call: Call) -> Reply:
    return _create(call, [call.body], "create")


@api.route(
    "/reviews:batch",
    "POST",
    summary="Create up to 100 reviews, all or nothing",
    body=ReviewBatch,
    response=ReviewList,
    status=201,
    auth=True,
    errors=WRITE_ERRORS,
)
def create_reviews(call: Call) -> Reply:
    return _create(call, call.body.items, "batch")


@api.route(
    "/reviews",
    "GET",
    summary="List reviews, newest first",
    query=ReviewListQuery,
    response=ReviewPage,
)
def list_reviews(call: Call) -> ReviewPage:
    return store.list_reviews(call.query)


@api.route("/reviews/<id:review_id>", "GET", summary="Get a review", response=Review)
def get_review(call: Call) -> Review:
    return store.get(call.path["review_id"])


@api.route(
    "/reviews/<id:review_id>",
    "PATCH",
    summary="Edit a review (new content is rescored)",
    body=ReviewUpdate,
    response=Review,
    auth=True,
    errors=(503,),
)
def update_review(call: Call) -> Review:
    return store.update(call.path["review_id"], call.body)


@api.route("/reviews/<id:review_id>", "DELETE", summary="Delete a review", status=204, auth=True)
def delete_review(call: Call) -> None:
    store.delete(call.path["review_id"])


@api.route(
    "/sentiment",
    "POST",
    summary="Score text without storing it (previews)",
    body=SentimentRequest,
    response=SentimentList,
    errors=(503,),
)
def preview_sentiment(call: Call) -> SentimentList:
    texts = [call.body.text] if call.body.text is not None else call.body.texts
    return SentimentList(
        items=[SentimentOut.model_validate(s, from_attributes=True) for s in store.score(texts)]
    )


@functions_framework.http
def reviews(request: flask.Request) -> flask.Response:
    return api(request)


@functions_framework.cloud_event
def on_upload(event: CloudEvent) -> None:
    uploads.handle_event(event)
