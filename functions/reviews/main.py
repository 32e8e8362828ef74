"""Reviews function: entry points only; the logic lives in shared."""

from __future__ import annotations

import flask
import functions_framework
from cloudevents.http import CloudEvent

import shared.reviews
from shared import uploads
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

api = Api(
    "reviews",
    "Reviews scored by the sentiment model at write time; sentiment previews.",
    prefix="/reviews",
)
WRITE_ERRORS = (404, 409, 503)


@api.route(
    "/reviews",
    "POST",
    summary="Create a review and score it",
    body=ReviewCreate,
    response=Review,
    status=201,
    auth=True,
    errors=WRITE_ERRORS,
    idempotent=True,
)
def create_review(call: Call) -> Reply:
    review = shared.reviews.create([call.body])[0]
    return Reply(201, review, {"Location": f"/reviews/{review.id}"})


@api.route(
    "/reviews:batch",
    "POST",
    summary="Create up to 100 reviews, all or nothing",
    body=ReviewBatch,
    response=ReviewList,
    status=201,
    auth=True,
    errors=WRITE_ERRORS,
    idempotent=True,
)
def create_reviews(call: Call) -> ReviewList:
    return ReviewList(items=shared.reviews.create(call.body.items))


@api.route(
    "/reviews",
    "GET",
    summary="List reviews, newest first",
    query=ReviewListQuery,
    response=ReviewPage,
)
def list_reviews(call: Call) -> ReviewPage:
    return shared.reviews.list_reviews(call.query)


@api.route("/reviews/<id:review_id>", "GET", summary="Get a review", response=Review)
def get_review(call: Call) -> Review:
    return shared.reviews.get(call.path["review_id"])


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
    return shared.reviews.update(call.path["review_id"], call.body)


@api.route("/reviews/<id:review_id>", "DELETE", summary="Delete a review", status=204, auth=True)
def delete_review(call: Call) -> None:
    shared.reviews.delete(call.path["review_id"])


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
    scores = shared.reviews.score(texts)
    return SentimentList(
        items=[SentimentOut.model_validate(s, from_attributes=True) for s in scores]
    )


@functions_framework.http
def reviews(request: flask.Request) -> flask.Response:
    return api(request)


@functions_framework.cloud_event
def on_upload(event: CloudEvent) -> None:
    uploads.handle_event(event)
