"""Reviews function: entry points only; the logic lives in shared."""

from __future__ import annotations

import flask
import functions_framework
from cloudevents.http import CloudEvent

import shared.previews
import shared.reviews
from shared.http import Api, Caller, Reply
from shared.identity import Permission, Principal
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
    auth=Permission.REVIEWS_WRITE_OWN,
    errors=WRITE_ERRORS,
    idempotent=True,
)
def create_review(body: ReviewCreate, principal: Principal) -> Reply[Review]:
    review = shared.reviews.create([body], principal)[0]
    return Reply(review, 201, {"Location": f"/reviews/{review.id}"})


@api.post(
    "/reviews:batch",
    summary="Create up to 100 reviews, all or nothing",
    status=201,
    auth=Permission.REVIEWS_BATCH,
    errors=WRITE_ERRORS,
    idempotent=True,
)
def create_reviews(body: ReviewBatch, principal: Principal) -> Reply[ReviewList]:
    return Reply(ReviewList(items=shared.reviews.create(body.items, principal, batch=True)), 201)


@api.get("/reviews", summary="List reviews, newest first", errors=(401, 503))
def list_reviews(query: ReviewListQuery, caller: Caller) -> ReviewPage:
    writer = caller.account_uid(Permission.REVIEWS_WRITE_OWN) if query.mine else None
    return shared.reviews.list_reviews(query, writer)


@api.delete(
    "/reviews/mine",
    summary="Delete every review of the signed-in account (one transaction)",
    auth=Permission.REVIEWS_WRITE_OWN,
)
def delete_my_reviews(principal: Principal) -> None:
    shared.reviews.delete_all_of(principal.own_uid())


@api.get("/reviews/<id:review_id>", summary="Get a review")
def get_review(review_id: int) -> Review:
    return shared.reviews.get(review_id)


@api.patch(
    "/reviews/<id:review_id>",
    summary="Edit a review (new content is rescored): its writer, or an API key",
    auth=Permission.REVIEWS_WRITE_OWN,
    errors=(503,),
)
def update_review(review_id: int, body: ReviewUpdate, principal: Principal) -> Review:
    return shared.reviews.update(review_id, body, principal)


@api.delete(
    "/reviews/<id:review_id>",
    summary="Delete a review: its writer, an admin, or an API key",
    auth=Permission.REVIEWS_WRITE_OWN,
)
def delete_review(review_id: int, principal: Principal) -> None:
    shared.reviews.delete(review_id, principal)


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
    auth=Permission.SENTIMENT_BATCH,
    errors=(503,),
)
def score_texts(body: SentimentBatch) -> SentimentList:
    return SentimentList(items=[_out(s) for s in shared.reviews.score(body.texts)])


def _out(scored: Scored) -> SentimentOut:
    return SentimentOut.model_validate(scored, from_attributes=True)


@functions_framework.http
@needs(Need.DATABASE, Need.CURSOR_KEY, Need.IDENTITY)  # lists sign cursors; writes verify users
def reviews(request: flask.Request) -> flask.Response:
    return api(request)


@functions_framework.cloud_event
@needs(Need.DATABASE)
def on_upload(event: CloudEvent) -> None:
    handle_event(event)
