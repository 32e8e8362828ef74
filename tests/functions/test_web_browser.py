"""The console in a real headless Chromium (Debian's), on the whole local system.

movies, reviews, ratings, the upload handler and the console run over HTTP behind the local
router (the console as its default route, as `make run` and the load balancer do), on one
PostgreSQL database and the GCS emulator, with the Eventarc stand-in delivering uploads and
the Firebase Auth emulator holding the accounts people sign up and in with. One browser per
session; every test fails on a console error, an uncaught page error or a request that leaves
the local base URL.

UPDATE_SCREENSHOTS=1 writes docs/screenshots/*.png (the README shows them).
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import threading
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Dialog,
    Error,
    Page,
    Request,
    expect,
    sync_playwright,
)

from infra.authemu import AuthEmulator
from infra.eventarc import Forwarder
from infra.localpg import EmbeddedPostgres
from infra.router import running
from infra.stack import FUNCTIONS
from shared import db, storage
from shared.settings import get_settings
from shared.web import openapi
from shared.web.session import COOKIE
from tests.support import API_KEY, REPO
from tests.support.identity import EMULATOR_PROJECT, PASSWORD, WEB_API_KEY, Accounts, TestUser
from tests.support.web import function_app, serve

POSITIVE = "정말 재미있고 감동적인 최고의 영화였어요. 배우들 연기도 완벽하고 또 보고 싶네요"
NEGATIVE = "시간 아깝다. 스토리도 엉망이고 연기도 최악인 쓰레기 영화"
SCREENSHOTS = REPO / "docs" / "screenshots"
# expect() retries until this; generous, because the suite shares 2 cores with everything
# else (a passing check returns as soon as it holds, so this costs nothing when all is well)
expect.set_options(timeout=20_000)
FIXTURE_REVIEWS = REPO / "tests" / "fixtures" / "nsmc" / "reviews-test.tsv.gz"
ROUTES = {p: fn.name for fn in FUNCTIONS for p in fn.prefixes}  # as `make run` routes


# --- the system under test ------------------------------------------------------------


@pytest.fixture(scope="module")
def console(
    postgres: EmbeddedPostgres, gcs_emulator: str, auth_emulator: AuthEmulator
) -> Iterator[str]:
    """The whole system on one base URL (returned), on a database of this module's own."""
    name = f"web_{uuid.uuid4().hex[:12]}"
    url = postgres.create_database(name, template="template_app")
    with pytest.MonkeyPatch.context() as env, ExitStack() as stack:
        for variable in ("MOVIES_API_URL", "REVIEWS_API_URL", "RATINGS_API_URL", "K_SERVICE"):
            env.delenv(variable, raising=False)
        env.setenv("DATABASE_URL", url)
        env.setenv("API_KEYS", API_KEY)
        env.setenv("FIREBASE_AUTH_EMULATOR_HOST", auth_emulator.host)
        env.setenv("FIREBASE_PROJECT_ID", EMULATOR_PROJECT)
        env.setenv("FIREBASE_WEB_API_KEY", WEB_API_KEY)
        for limit in ("WEB_WRITE", "WEB_SIGN_IN", "WEB_SIGN_UP"):
            env.setenv(f"{limit}_RATE_LIMIT", "1000/minute")
        get_settings.cache_clear()
        db.dispose()
        # objects other test modules left behind would be delivered to this module's database
        # (the Eventarc stand-in delivers the live objects when it starts)
        requests.get(f"{gcs_emulator}/wipe", timeout=30).raise_for_status()
        client = storage.get_client()
        client.create_bucket("uploads")
        urls = {fn: stack.enter_context(serve(function_app(fn))) for fn in set(ROUTES.values())}
        web = stack.enter_context(serve(function_app("web")))
        base = stack.enter_context(
            running({prefix: urls[fn] for prefix, fn in ROUTES.items()}, default=web)
        )
        env.setenv("API_BASE_URL", base)
        get_settings.cache_clear()
        openapi.reset()
        handler = stack.enter_context(
            serve(function_app("reviews", "on_upload", signature="cloudevent"))
        )
        forwarder = Forwarder("uploads", handler + "/", interval=0.2)
        thread = threading.Thread(target=forwarder.run, daemon=True)
        thread.start()
        try:
            yield base
        finally:
            forwarder.stopping.set()
            thread.join(timeout=10)
    get_settings.cache_clear()
    db.dispose()
    postgres.drop_database(name)


class Api:
    """Setup through the public API (with the key), as another client would."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.session = requests.Session()
        self.session.headers["X-API-Key"] = API_KEY

    def movie(self, **fields: Any) -> int:
        response = self.session.post(f"{self.base}/movies", json={"title": "영화", **fields})
        assert response.status_code == 201, response.text
        return int(response.json()["id"])

    def reviews(self, movie_id: int, *contents: str) -> None:
        items = [{"movie_id": movie_id, "author": "관객", "content": c} for c in contents]
        response = self.session.post(f"{self.base}/reviews:batch", json={"items": items})
        assert response.status_code == 201, response.text


@pytest.fixture(scope="module")
def api(console: str) -> Api:
    return Api(console)


# --- the browser --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, once per session (never a downloaded browser)."""
    exe = os.environ.get("CHROMIUM_BIN") or shutil.which("chromium") or "/usr/bin/chromium"
    if not os.access(exe, os.X_OK):
        message = f"no chromium at {exe}: apt-get install -y --no-install-recommends chromium"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(message, pytrace=False)  # CI: a missing browser is an error
        pytest.skip(message)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=exe, args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
        )
        yield launched
        launched.close()


class Watch:
    """What a page did that a user would not see: console errors, crashes, foreign requests."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.errors: list[str] = []
        self.foreign: list[str] = []
        self.dialogs: list[str] = []

    def attach(self, page: Page) -> None:
        page.on("console", self._console)
        page.on("pageerror", self._crash)
        page.on("dialog", self._dialog)
        page.on("request", self._request)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text}")

    def _crash(self, error: Error) -> None:
        self.errors.append(f"pageerror: {error}")

    def _dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(dialog.message)  # alert(), confirm(): a script ran
        dialog.dismiss()

    def _request(self, request: Request) -> None:
        if not request.url.startswith((self.base, "data:")):
            self.foreign.append(request.url)


def new_page(browser: Browser, console: str, **options: Any) -> tuple[Page, Watch]:
    context = browser.new_context(
        base_url=console, locale="ko-KR", viewport={"width": 1200, "height": 900}, **options
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    watch = Watch(console)
    watch.attach(page)
    return page, watch


@pytest.fixture
def watched(browser: Browser, console: str) -> Iterator[tuple[Page, Watch]]:
    page, watch = new_page(browser, console)
    yield page, watch
    page.context.close()
    assert watch.errors == [], watch.errors
    assert watch.foreign == [], f"requests left the base URL: {watch.foreign}"
    assert watch.dialogs == [], f"a script ran: {watch.dialogs}"


@pytest.fixture
def page(watched: tuple[Page, Watch]) -> Page:
    return watched[0]


def stat(page: Page, name: str) -> Any:
    return page.locator(f"#stat-{name}")


# --- accounts --------------------------------------------------------------------------------


def sign_in(page: Page, user: TestUser, path: str = "/login") -> None:
    """Through the sign-in page, as a person would; back where `path` said to return."""
    page.goto(path)
    page.fill("#email", user.email)
    page.fill("#password", user.password)
    page.get_by_role("button", name="로그인").click()
    expect(page.locator("#account-name")).to_have_text(user.display_name)


def sign_out(page: Page) -> None:
    page.get_by_role("navigation", name="계정").get_by_role("button", name="로그아웃").click()
    expect(page.locator(".flash")).to_contain_text("로그아웃했습니다")
    expect(page.get_by_role("navigation", name="계정")).to_contain_text("로그인")


def forge(page: Page, path: str, **form: str) -> Any:
    """A POST the page offers no control for, with this browser's own valid CSRF token."""
    login = page.request.get("/login").text()
    match = re.search(r'name="csrf_token" value="([^"]+)"', login)
    assert match, "no CSRF token on the sign-in page"
    return page.request.post(path, form={"csrf_token": match.group(1), **form})


def test_sign_up_write_a_review_edit_it_and_sign_out(page: Page, api: Api, users: Accounts) -> None:
    movie_id = api.movie(title=f"가입 여정 {uuid.uuid4().hex[:6]}")
    page.goto(f"/films/{movie_id}")
    page.get_by_role("link", name="로그인하고 리뷰 쓰기").click()
    page.get_by_role("link", name="회원 가입").last.click()  # from the sign-in page
    page.fill("#email", f"new-{uuid.uuid4().hex[:6]}@example.com")
    page.fill("#display_name", "새 관객")
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="가입하기").click()
    expect(page).to_have_url(re.compile(rf"/films/{movie_id}#write$"))  # back to the movie
    expect(page.locator(".flash")).to_contain_text("환영합니다")
    expect(page.locator("#writer")).to_contain_text("새 관객")

    cookie = next(c for c in page.context.cookies() if c["name"] == COOKIE)
    assert (cookie["secure"], cookie["httpOnly"], cookie["sameSite"]) == (True, True, "Lax")
    assert COOKIE not in page.evaluate("document.cookie")  # no script can read the session

    page.fill("#content", POSITIVE)
    page.get_by_role("button", name="등록").click()
    new = page.locator("li.review.new")
    expect(new.locator(".badge")).to_have_text("긍정")
    expect(new.locator("p.meta").first).to_contain_text("새 관객")
    new.get_by_role("link", name="고치기").click()
    page.fill("#content", NEGATIVE)
    page.get_by_role("button", name="저장").click()
    expect(page.locator(".flash")).to_contain_text("리뷰를 고쳤습니다")
    expect(page.locator("li.review .badge")).to_have_text(["부정"])
    expect(stat(page, "count")).to_have_text("1")

    sign_out(page)
    page.goto(f"/films/{movie_id}")
    expect(page.locator("#sign-in-to-write")).to_be_visible()
    expect(page.locator("li.review .review-actions")).to_have_count(0)


def test_a_member_cannot_edit_another_members_review(
    browser: Browser, console: str, api: Api, users: Accounts
) -> None:
    movie_id = api.movie(title="남의 리뷰")
    writer, _w = new_page(browser, console)
    sign_in(writer, users.member(), f"/login?next=/films/{movie_id}")
    writer.fill("#content", POSITIVE)
    writer.get_by_role("button", name="등록").click()
    expect(writer.locator("li.review.new .review-actions")).to_contain_text("고치기")
    review = writer.locator("li.review.new").get_attribute("id") or ""
    review_id = review.removeprefix("review-")

    other, watch = new_page(browser, console)
    sign_in(other, users.second_member(), f"/login?next=/films/{movie_id}")
    expect(other.locator(f"#{review}")).to_be_visible()
    expect(other.locator(f"#{review} .review-actions")).to_have_count(0)  # no control...
    forged = forge(other, f"/films/{movie_id}/reviews/{review_id}/edit", content=NEGATIVE)
    assert forged.status == 403 and "권한이 없습니다" in forged.text()  # ...and no way around
    assert forge(other, f"/films/{movie_id}/reviews/{review_id}/delete").status == 403
    other.reload()
    expect(other.locator(f"#{review} p.content")).to_have_text(POSITIVE)
    writer.context.close()
    other.context.close()
    assert watch.errors == [] and watch.foreign == []


def test_an_admin_deletes_a_review_and_a_movie(page: Page, api: Api, users: Accounts) -> None:
    title = f"지울 영화 {uuid.uuid4().hex[:6]}"
    movie_id = api.movie(title=title)
    api.reviews(movie_id, POSITIVE, NEGATIVE, POSITIVE)
    sign_in(page, users.admin(), f"/login?next=/films/{movie_id}")
    expect(stat(page, "count")).to_have_text("3")
    first = page.locator("li.review").first
    expect(first.get_by_role("link", name="고치기")).to_have_count(0)  # not an admin's own
    first.get_by_role("button", name="삭제").click()  # moderation
    expect(page.locator(".flash")).to_contain_text("리뷰를 삭제했습니다")
    expect(stat(page, "count")).to_have_text("2")

    page.locator("#movie-actions").get_by_role("link", name="삭제").click()
    expect(page.locator("#delete-warning")).to_contain_text("리뷰 2개")
    page.get_by_role("button", name="삭제").click()
    expect(page).to_have_url(re.compile(r"/films$"))
    expect(page.locator(".flash")).to_contain_text("리뷰 2개도 함께 삭제")
    expect(page.locator("#movie-list a.title", has_text=title)).to_have_count(0)
    gone = page.request.get(f"/films/{movie_id}")  # not page.goto: a 404 logs a console error
    assert gone.status == 404 and "찾을 수 없습니다" in gone.text()


def test_an_anonymous_visitor_sees_no_write_control_and_forging_changes_nothing(
    page: Page, api: Api
) -> None:
    movie_id = api.movie(title="구경만 하기")
    api.reviews(movie_id, POSITIVE)
    page.goto(f"/films/{movie_id}")
    expect(page.locator("#movie-title")).to_have_text("구경만 하기")
    for control in ("#content", "#movie-actions", ".review-actions", "form[action$='/delete']"):
        expect(page.locator(control)).to_have_count(0)
    menu = page.get_by_role("navigation", name="주 메뉴")
    expect(menu.get_by_role("link", name="영화 추가")).to_have_count(0)
    expect(menu.get_by_role("link", name="파일 업로드")).to_have_count(0)
    expect(page.get_by_role("link", name="로그인하고 리뷰 쓰기")).to_be_visible()
    before = api.session.get(f"{api.base}/movies/{movie_id}").json()
    for path, form in (
        ("/films", {"title": "위조 영화"}),
        (f"/films/{movie_id}/edit", {"title": "훼손"}),
        (f"/films/{movie_id}/delete", {}),
        (f"/films/{movie_id}/reviews", {"content": POSITIVE}),
    ):
        forged = forge(page, path, **form)
        assert forged.status == 403, path
        assert "로그인이 필요합니다" in forged.text()
    assert api.session.get(f"{api.base}/movies/{movie_id}").json() == before
    page.reload()
    expect(stat(page, "count")).to_have_text("1")


# --- the journey ---------------------------------------------------------------------------


def test_add_movie_then_find_it_in_the_list_and_by_search(page: Page, users: Accounts) -> None:
    title = f"브라우저 영화 {uuid.uuid4().hex[:6]}"
    sign_in(page, users.admin())
    menu = page.get_by_role("navigation", name="주 메뉴")
    menu.get_by_role("link", name="영화 추가").click()
    page.fill("#title", title)
    page.fill("#director", "봉준호")
    page.fill("#genre", "드라마")
    page.fill("#release_date", "2019-05-30")
    page.fill("#synopsis", "반지하에 사는 가족 이야기")
    page.get_by_role("button", name="추가").click()
    expect(page).to_have_url(re.compile(r"/films/\d+$"))
    expect(page.locator("#movie-title")).to_have_text(title)
    expect(page.locator(".flash")).to_contain_text("추가했습니다")

    page.get_by_role("navigation", name="주 메뉴").get_by_role(
        "link", name="영화", exact=True
    ).click()
    expect(page.locator("#movie-list a.title").first).to_have_text(title)  # newest first
    page.get_by_role("search").get_by_label("영화 제목 검색").fill(title[-6:])
    page.get_by_role("search").get_by_label("영화 제목 검색").press("Enter")
    expect(page.locator("#movie-list a.title")).to_have_text([title])
    page.fill("#f-q", "존재하지 않는 제목")
    page.get_by_role("button", name="적용").click()
    expect(page.locator("p.empty")).to_contain_text("조건에 맞는 영화가 없습니다")


def test_preview_follows_typing_and_reviews_move_the_rating_card(
    page: Page, api: Api, users: Accounts
) -> None:
    movie_id = api.movie(title="리뷰 여정")
    sign_in(page, users.member(), f"/login?next=/films/{movie_id}")
    expect(stat(page, "count")).to_have_text("0")
    content = page.locator("#content")
    content.press_sequentially("정말 재미있고 감동적인 최고의 영화", delay=15)
    expect(page.locator("#preview [data-label]")).to_have_attribute("data-label", "positive")
    content.fill("")
    content.press_sequentially("시간 아깝다 최악의 쓰레기 영화", delay=15)
    expect(page.locator("#preview [data-label]")).to_have_attribute("data-label", "negative")

    content.fill(POSITIVE)
    page.get_by_role("button", name="등록").click()
    expect(page.locator(".flash")).to_contain_text("긍정")
    expect(page.locator("li.review.new .badge")).to_have_text("긍정")
    expect(stat(page, "count")).to_have_text("1")
    first_positivity = float(stat(page, "positivity").inner_text().rstrip("%"))

    page.fill("#content", NEGATIVE)
    page.get_by_role("button", name="등록").click()
    expect(page.locator("li.review.new .badge")).to_have_text("부정")
    expect(stat(page, "count")).to_have_text("2")
    assert float(stat(page, "positivity").inner_text().rstrip("%")) < first_positivity
    expect(page.locator("li.review .badge")).to_have_text(["부정", "긍정"])
    expect(page.locator("svg.split rect.negative")).to_have_count(1)

    page.get_by_role("link", name="부정", exact=True).click()
    expect(page.locator("li.review .badge")).to_have_text(["부정"])


def test_a_script_in_a_review_title_or_name_is_shown_as_text(
    page: Page, api: Api, users: Accounts
) -> None:
    hostile = "<script>alert('xss')</script><img src=x onerror=alert(1)>"
    movie_id = api.movie(title=hostile)
    attacker = users.create("attacker@example.com", "<b>공격자</b>")
    sign_in(page, attacker, f"/login?next=/films/{movie_id}")
    expect(page.locator("#movie-title")).to_have_text(hostile)
    page.fill("#content", hostile)
    page.get_by_role("button", name="등록").click()
    expect(page.locator("li.review.new p.content")).to_have_text(hostile)
    expect(page.locator("li.review.new")).to_contain_text("<b>공격자</b>")
    assert page.locator("li.review script, li.review img, header b").count() == 0
    page.goto("/films")
    expect(page.locator("#movie-list a.title").first).to_have_text(hostile)
    # the watched fixture fails the test if any alert() ran


def test_an_upload_shows_its_report(page: Page, api: Api, users: Accounts, tmp_path: Path) -> None:
    movie_id = api.movie(title="업로드 영화")
    lines = [
        {"movie_id": movie_id, "author": "a", "content": POSITIVE},
        {"movie_id": movie_id, "author": "b", "content": NEGATIVE},
        {"movie_id": movie_id, "author": "c"},
    ]
    file = tmp_path / "reviews.jsonl"
    file.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines))
    sign_in(page, users.admin(), "/login?next=/upload")
    page.set_input_files("#file", file)
    page.get_by_role("button", name="올리기").click()
    expect(page).to_have_url(re.compile(r"/uploads/[0-9a-f]{32}/reviews\.jsonl$"))
    report = page.locator("#upload-report[data-status]")
    expect(report).to_have_attribute("data-status", "done", timeout=30_000)  # htmx polling
    expect(page.locator("#report-lines")).to_have_text("3")
    expect(page.locator("#report-inserted")).to_have_text("2")
    expect(page.locator("#report-rejected")).to_have_text("1")
    with page.expect_download() as download:
        page.locator("#rejects-link").click()
    rejected = Path(download.value.path()).read_text(encoding="utf-8")
    assert json.loads(rejected.splitlines()[0])["line"] == 3
    page.goto(f"/films/{movie_id}")
    expect(stat(page, "count")).to_have_text("2")


def test_docs_render_the_merged_document(page: Page) -> None:
    page.goto("/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("영화 리뷰 API")
    for tag in ("movies", "reviews", "ratings"):
        expect(page.locator(f"#operations-tag-{tag}")).to_be_visible()
    batch = page.locator(".opblock-summary-path", has_text=re.compile(r"^/sentiment:batch$"))
    expect(batch).to_have_count(1)
    batch.click()
    expect(page.locator(".opblock-body").first).to_contain_text("texts")  # its body schema


def test_readable_and_usable_without_javascript(
    browser: Browser, console: str, api: Api, users: Accounts
) -> None:
    page, watch = new_page(browser, console, java_script_enabled=False)
    movie_id = api.movie(title="자바스크립트 없이")
    page.goto("/")
    page.get_by_role("link", name="영화", exact=True).first.click()
    page.get_by_role("link", name="자바스크립트 없이").click()
    page.get_by_role("link", name="로그인하고 리뷰 쓰기").click()
    member = users.member()
    page.fill("#email", member.email)
    page.fill("#password", member.password)
    page.get_by_role("button", name="로그인").click()
    page.fill("#content", POSITIVE)
    page.get_by_role("button", name="등록").click()
    expect(page.locator("li.review.new .badge")).to_have_text("긍정")
    expect(stat(page, "count")).to_have_text("1")
    assert page.url.startswith(f"{console}/films/{movie_id}")
    page.context.close()
    assert watch.errors == [] and watch.foreign == []


# --- pictures and page figures --------------------------------------------------------------


@pytest.fixture(scope="module")
def showcase(api: Api, console: str) -> int:
    """A movie with 120 real NSMC reviews spread over 20 weeks (through a real upload)."""
    movie_id = api.movie(
        title="기생충",
        release_date="2019-05-30",
        director="봉준호",
        genre="드라마",
        synopsis="전원 백수로 살 길 막막하지만 사이는 좋은 기택 가족. 장남 기우에게 명문대생 "
        "친구가 연결시켜 준 고액 과외 자리는 모처럼 싹튼 고정수입의 희망이다.",
    )
    for other in ("괴물", "올드보이", "살인의 추억"):
        api.reviews(api.movie(title=other, genre="스릴러"), POSITIVE, NEGATIVE, POSITIVE)
    with gzip.open(FIXTURE_REVIEWS, "rt", encoding="utf-8") as rows:
        texts = [line.split("\t")[4].strip() for line in list(rows)[1:121]]
    now = datetime.now(UTC)
    lines = [
        {
            "movie_id": movie_id,
            "author": f"관객{index}",
            "content": text,
            "created_at": (now - timedelta(days=index * 7 * 20 // len(texts) + 1)).isoformat(),
        }
        for index, text in enumerate(texts)
    ]
    blob = storage.get_client().bucket("uploads").blob(f"showcase/{uuid.uuid4().hex}.jsonl")
    blob.upload_from_string("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines))
    report = storage.get_client().bucket("uploads").blob(f"reports/{blob.name}.json")
    deadline = datetime.now(UTC) + timedelta(seconds=60)
    while not report.exists():
        assert datetime.now(UTC) < deadline, "the showcase upload was never processed"
        threading.Event().wait(0.2)
    assert json.loads(report.download_as_bytes())["inserted"] == len(texts)
    return movie_id


def shoot(page: Page, name: str, tmp_path: Path) -> Path:
    """A full-page screenshot; into docs/screenshots when UPDATE_SCREENSHOTS=1."""
    folder = SCREENSHOTS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    assert path.stat().st_size > 20_000  # something was drawn (Hangul glyphs, charts)
    return path


def test_screenshots_paint_and_weight(
    page: Page, showcase: int, users: Accounts, tmp_path: Path
) -> None:
    """Pictures of the home page, the sign-in page and a signed-in member's movie page (with
    a review of their own); the movie page's first paint and weight (printed)."""
    page.goto("/")
    expect(page.locator("table.leaderboard tr", has_text="기생충")).to_be_visible()
    shoot(page, "home", tmp_path)
    page.goto(f"/login?next=/films/{showcase}")
    member = users.member()
    page.fill("#email", member.email)
    shoot(page, "sign-in", tmp_path)
    page.fill("#password", member.password)
    page.get_by_role("button", name="로그인").click()
    page.fill("#content", "배우들 연기가 정말 좋았고 마지막 장면은 오래 기억에 남을 것 같아요")
    page.get_by_role("button", name="등록").click()
    expect(page.locator("li.review.new .review-actions")).to_contain_text("고치기")

    sizes: dict[str, int] = {}
    page.on(
        "response",
        lambda r: (
            sizes.__setitem__(r.url, len(r.body()))
            if r.request.resource_type in ("document", "stylesheet", "script")
            else None
        ),
    )
    page.goto(f"/films/{showcase}")
    expect(stat(page, "count")).to_have_text("121")
    expect(page.locator("svg.trend rect.count")).not_to_have_count(0)
    fcp = "performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null"
    page.wait_for_function(f"{fcp} !== null")
    paint = page.evaluate(fcp)
    weight = sum(sizes.values())
    shoot(page, "movie", tmp_path)
    print(f"\nmovie page: first contentful paint {paint:.0f} ms, weight {weight / 1024:.1f} KiB")
    assert weight <= 150 * 1024, sizes  # HTML + CSS + JS, the budget

    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    page.reload()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page scrolls sideways on a phone by {overflow}px"
    shoot(page, "movie-mobile", tmp_path)
