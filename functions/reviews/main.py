"""Reviews function: entry points only; the logic lives in shared."""

from __future__ import annotations

import flask
import functions_framework
from cloudevents.http import CloudEvent

import shared.previews
import shared.reviews
from shared.http import Api, Reply
from shared.schemas.reviews import (
    Review,
    ReviewBatch,
    ReviewCreate,
    ReviewList,
    ReviewListQuery,
    ReviewPage,
    ReviewUpdate,
    SentimentBatch,
    SentimentList,
    SentimentOut,
    SentimentRequest,
)
from shared.sentiment.scored import Scored
from shared.settings import Need, needs
from shared.uploads.handler import handle_event

api = Api(
    "reviews",
    "Reviews scored by the sentiment model at write time; sentiment previews.",
    prefix="/reviews",
)
WRITE_ERRORS = (404, 409, 503)


@api.post(
    "/reviews",
    summary="Create a review and score it",
    status=201,
    auth=True,
    errors=WRITE_ERRORS,
    idempotent=True,
)
def create_review(body: ReviewCreate) -> Reply[Review]:
    review = shared.reviews.create([body])[0]
    return Reply(review, 201, {"Location": f"/reviews/{review.id}"})


@api.post(
    "/reviews:batch",
    summary="Create up to 100 reviews, all or nothing",
    status=201,
    auth=True,
    errors=WRITE_ERRORS,
    idempotent=True,
)
def create_reviews(body: ReviewBatch) -> Reply[ReviewList]:
    return Reply(ReviewList(items=shared.reviews.create(body.items)), 201)


@api.get("/reviews", summary="List reviews, newest first")
def list_reviews(query: ReviewListQuery) -> ReviewPage:
    return shared.reviews.list_reviews(query)


@api.get("/reviews/<id:review_id>", summary="Get a review")
def get_review(review_id: int) -> Review:
    return shared.reviews.get(review_id)


@api.patch(
    "/reviews/<id:review_id>",
    summary="Edit a review (new content is rescored)",
    auth=True,
    errors=(503,),
)
def update_review(review_id: int, body: ReviewUpdate) -> Review:
    return shared.reviews.update(review_id, body)


@api.delete("/reviews/<id:review_id>", summary="Delete a review", auth=True)
def delete_review(review_id: int) -> None:
    shared.reviews.delete(review_id)


@api.post(
    "/sentiment",
    summary="Score one text without storing it (previews; public)",
    description=shared.previews.POLICY,
    errors=(429, 503),
)
def preview_sentiment(body: SentimentRequest) -> SentimentList:
    return SentimentList(items=[_out(shared.previews.preview(body.text))])


@api.post(
    "/sentiment:batch",
    summary="Score up to 100 texts without storing them",
    auth=True,
    errors=(503,),
)
def score_texts(body: SentimentBatch) -> SentimentList:
    return SentimentList(items=[_out(s) for s in shared.reviews.score(body.texts)])


def _out(scored: Scored) -> SentimentOut:
    return SentimentOut.model_validate(scored, from_attributes=True)


@functions_framework.http
@needs(Need.DATABASE, Need.CURSOR_KEY)  # lists sign cursors
def reviews(request: flask.Request) -> flask.Response:
    return api(request)


@functions_framework.cloud_event
@needs(Need.DATABASE)
def on_upload(event: CloudEvent) -> None:
    handle_event(event)
